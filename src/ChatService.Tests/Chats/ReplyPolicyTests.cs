using ChatService.Chats;

namespace ChatService.Tests.Chats;

public sealed class ReplyPolicyTests
{
    private static readonly string[] Cast = ["a", "b", "c"];

    [Fact]
    public void OneToOne_TheCharacterAlwaysAnswers()
    {
        var (speakers, cursor) = ReplyPolicy.Pick(["solo"], 7, [], 1);

        Assert.Equal(["solo"], speakers);
        Assert.Equal(0, cursor);
    }

    [Fact]
    public void Group_RotatesThroughTheCast()
    {
        var cursor = 0L;
        var order = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            (var speakers, cursor) = ReplyPolicy.Pick(Cast, cursor, [], 1);
            order.AddRange(speakers);
        }

        Assert.Equal(["a", "b", "c", "a", "b"], order);
    }

    [Fact]
    public void Group_SeveralRepliesPerTurn_WrapAround()
    {
        var (speakers, cursor) = ReplyPolicy.Pick(Cast, 2, [], 2);

        Assert.Equal(["c", "a"], speakers);
        Assert.Equal(1, cursor);
    }

    [Fact]
    public void Named_AnswerInTheGivenOrder_AndLeaveTheRotationAlone()
    {
        var (speakers, cursor) = ReplyPolicy.Pick(Cast, 1, ["c", "a", "c"], 1);

        Assert.Equal(["c", "a"], speakers);
        Assert.Equal(1, cursor);
    }
}
