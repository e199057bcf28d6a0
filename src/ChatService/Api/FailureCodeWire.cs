using ChatService.Chats;

namespace ChatService.Api;

/// <summary>The failure codes as clients read them in <c>ReplyEvent.Failed.code</c>.</summary>
internal static class FailureCodeWire
{
    /// <summary>The wire string of <paramref name="code"/>: its stable name (<see cref="ReplyFailureCodes.Name"/>).</summary>
    public static string ToWire(ReplyFailureCode? code) => ReplyFailureCodes.Name(code);
}
