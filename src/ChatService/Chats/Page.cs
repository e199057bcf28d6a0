namespace ChatService.Chats;

/// <summary>A page of results and the token for the next page (null on the last page).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextPageToken)
{
    /// <summary>
    /// The page of up to <paramref name="pageSize"/> items among <paramref name="rows"/>, read with
    /// one row more than a page: that row only tells that another page exists (without a second
    /// query), which then starts after the page's last item (<paramref name="tokenAfter"/>).
    /// </summary>
    public static Page<T> FromRows(IReadOnlyList<T> rows, int pageSize, Func<T, string> tokenAfter) =>
        rows.Count <= pageSize ? new Page<T>(rows, null) : new Page<T>([.. rows.Take(pageSize)], tokenAfter(rows[pageSize - 1]));
}
