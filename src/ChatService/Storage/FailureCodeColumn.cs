using ChatService.Chats;

namespace ChatService.Storage;

/// <summary>
/// The failure codes as the <c>Candidates.FailureCode</c> column stores them: their stable names
/// (<see cref="ReplyFailureCodes.Name"/>), which rows written by earlier versions already hold.
/// </summary>
internal static class FailureCodeColumn
{
    private static readonly Dictionary<string, ReplyFailureCode> ByName =
        Enum.GetValues<ReplyFailureCode>().ToDictionary(code => ReplyFailureCodes.Name(code), StringComparer.Ordinal);

    /// <summary>The column value of <paramref name="code"/>; null (no failure) stays null.</summary>
    public static string? ToColumn(ReplyFailureCode? code) => code is null ? null : ReplyFailureCodes.Name(code);

    /// <summary>The code a column value stands for; a value this version does not know reads as <see cref="ReplyFailureCode.Failed"/>.</summary>
    public static ReplyFailureCode? FromColumn(string? stored) =>
        stored is null ? null : ByName.GetValueOrDefault(stored, ReplyFailureCode.Failed);
}
