using ChatService.Chats;
using ChatService.Storage;

namespace ChatService.Tests.Chats;

public sealed class ReplyFailureCodeTests
{
    // Spelled out rather than derived: clients and stored rows depend on exactly these strings.
    private static readonly (ReplyFailureCode Code, string Text)[] Known =
    [
        (ReplyFailureCode.Failed, "FAILED"),
        (ReplyFailureCode.BackendUnavailable, "BACKEND_UNAVAILABLE"),
        (ReplyFailureCode.Interrupted, "INTERRUPTED"),
        (ReplyFailureCode.UnknownRoute, "UNKNOWN_ROUTE"),
        (ReplyFailureCode.Cancelled, "CANCELLED"),
        (ReplyFailureCode.RecoveryExhausted, "RECOVERY_EXHAUSTED"),
        (ReplyFailureCode.NotFound, "NOT_FOUND"),
        (ReplyFailureCode.Filtered, "FILTERED"),
        (ReplyFailureCode.ModerationUnavailable, "MODERATION_UNAVAILABLE"),
    ];

    public static TheoryData<ReplyFailureCode, string> KnownCodes
    {
        get
        {
            var data = new TheoryData<ReplyFailureCode, string>();
            foreach (var (code, text) in Known)
            {
                data.Add(code, text);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(KnownCodes))]
    public void ToWire_KeepsTheStringsClientsKnow(ReplyFailureCode code, string wire) =>
        Assert.Equal(wire, ReplyFailureCodes.Name(code));

    [Theory]
    [MemberData(nameof(KnownCodes))]
    public void Column_StoresTheStringsEarlierRowsHold_AndReadsThemBack(ReplyFailureCode code, string stored)
    {
        Assert.Equal(stored, FailureCodeColumn.ToColumn(code));
        Assert.Equal(code, FailureCodeColumn.FromColumn(stored));
    }

    [Fact]
    public void EveryCode_HasAWireStringAndAColumnValue()
    {
        var listed = Known.Select(k => k.Code).ToHashSet();

        Assert.Equal(Enum.GetValues<ReplyFailureCode>().ToHashSet(), listed);
    }

    [Fact]
    public void NoCode_IsPlainFailedOnTheWire_AndNullInTheColumn()
    {
        Assert.Equal("FAILED", ReplyFailureCodes.Name(null));
        Assert.Null(FailureCodeColumn.ToColumn(null));
        Assert.Null(FailureCodeColumn.FromColumn(null));
    }

    [Fact]
    public void UnknownColumnValue_ReadsAsFailed() =>
        Assert.Equal(ReplyFailureCode.Failed, FailureCodeColumn.FromColumn("SOMETHING_NEWER"));
}
