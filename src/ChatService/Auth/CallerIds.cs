namespace ChatService.Auth;

/// <summary>
/// Which user ids the service accepts, whichever way they arrive. A user id becomes a key of
/// stored rows, so anything that could be stored or compared differently from how it was sent is
/// refused rather than cleaned up.
/// </summary>
internal static class CallerIds
{
    public const int MaxLength = 128;

    /// <summary>1..<see cref="MaxLength"/> characters, without control characters or surrounding white space.</summary>
    public static bool IsWellFormed(string userId) =>
        userId.Length is > 0 and <= MaxLength && !userId.Any(char.IsControl) && userId.Trim().Length == userId.Length;

    /// <summary>
    /// Well-formed and printable ASCII only, as gRPC defines text metadata: anything else (a lone
    /// surrogate from an in-process caller, say) would be stored re-encoded, so two different
    /// headers would name the same user.
    /// </summary>
    public static bool IsWellFormedHeader(string userId) =>
        IsWellFormed(userId) && userId.All(c => c is >= ' ' and <= '~');
}
