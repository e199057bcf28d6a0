using ChatService.Api;
using ChatService.Chats;

namespace ChatService.Tests.Api;

/// <summary>Reading a framed turn's number without decoding it, and hidden turns as window entries.</summary>
public sealed class TurnWireTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(127)]
    [InlineData(128)]
    [InlineData(300_000)]
    public void SeqAt_ReadsEachFramesTurnNumber(long newest)
    {
        var turns = Enumerable.Range(0, 5).Select(i => Turn(newest - i, new string('x', i * 70))).ToList();

        var frames = TurnWire.Frame(turns);

        Assert.Equal(turns.Select(t => t.Seq), Enumerable.Range(0, frames.Count).Select(frames.SeqAt));
    }

    [Fact]
    public void HiddenTurn_IsAnEmptyEntry_AndAShownTurnNever()
    {
        Assert.Empty(TurnWire.EncodeEntry(ChatTurn.HiddenMarker("c", 3, 7)));
        Assert.NotEmpty(TurnWire.EncodeEntry(Turn(3, "")));
    }

    private static ChatTurn Turn(long seq, string text) =>
        new("0f8fad5b-d9cb-469f-a165-70867728950e", seq, AuthorRole.Character, "c", text, ReplyState.Complete, "k", 1, DateTimeOffset.UnixEpoch, null, seq - 1);
}
