using ChatService.Chats;

namespace ChatService.Tests.Chats;

/// <summary>How a reply generation is named in cancel signals: what ToString writes, TryParse reads back.</summary>
public sealed class ReplyKeyTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1000)]
    public void TryParse_ReadsBackToString(int continuation)
    {
        var key = new ReplyKey("6e28cfed-0a16-49f4-870a-938318708de5", 42, "0c1b7e0e-65a4-4a6e-9b1c-1f1f7c1c5a11", continuation);

        Assert.True(ReplyKey.TryParse(key.ToString(), out var parsed));
        Assert.Equal(key, parsed);
        Assert.Equal((long)continuation << ReplyKey.ContinuationShift, parsed.SequenceBase);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("chat/x/cand")]
    [InlineData("chat/-1/cand")]
    [InlineData("chat/1/cand+")]
    [InlineData("chat/1/cand+-2")]
    [InlineData("chat/1/cand/extra")]
    public void TryParse_RefusesAnythingElse(string? text) => Assert.False(ReplyKey.TryParse(text, out _));
}
