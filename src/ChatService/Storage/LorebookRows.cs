using ChatService.Chats;
using ChatService.Inference;
using ChatService.Storage.Proto;
using Google.Protobuf;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>Lorebooks as rows: the columns, the entries' protobuf codec, and the reads the reply path makes.</summary>
internal static class LorebookRows
{
    public const string Columns = "LorebookId, OwnerUserId, CharacterId, Name, Description, ScanDepth, TokenBudget, Entries, Version, CreateTime, UpdateTime";

    /// <summary><see cref="Columns"/> but the entries (ListLorebooks: a book's entries are GetLorebook's), read by <see cref="ReadListed"/>.</summary>
    public const string ListedColumns = "LorebookId, OwnerUserId, CharacterId, Name, Description, ScanDepth, TokenBudget, Version, CreateTime, UpdateTime";

    /// <summary>
    /// The books a reply of <c>@speakerId</c> in <c>@chatId</c> uses, as (Kind 'lorebook', Id, Version)
    /// rows shaped like the other branches of the reply's definitions read (ReplyDefinitionReader), so
    /// they come with that one statement: the speaker's own book, and the books the chat uses.
    /// </summary>
    public const string StampsSelect =
        """
        SELECT 'lorebook' AS Kind, b.LorebookId AS Id, b.Version, CAST(NULL AS TIMESTAMP) AS DeleteTime,
               CAST(NULL AS STRING) AS Name, CAST(NULL AS STRING) AS Description, CAST(NULL AS BOOL) AS IsDefault, 0 AS Rank
        FROM Lorebooks@{FORCE_INDEX=LorebooksByCharacter, spanner_emulator.disable_query_null_filtered_index_check=true} b WHERE b.CharacterId = @speakerId
        UNION ALL
        SELECT 'lorebook' AS Kind, b.LorebookId AS Id, b.Version, CAST(NULL AS TIMESTAMP) AS DeleteTime,
               CAST(NULL AS STRING) AS Name, CAST(NULL AS STRING) AS Description, CAST(NULL AS BOOL) AS IsDefault, 0 AS Rank
        FROM ChatLorebooks c JOIN Lorebooks b ON b.LorebookId = c.LorebookId WHERE c.ChatId = @chatId
        """;

    public static Lorebook Read(SpannerRow row) => ReadListed(row) with { Entries = DecodeEntries(row.Get<byte[]>("Entries")) };

    /// <summary>A book from a row of <see cref="ListedColumns"/>: without its entries.</summary>
    public static Lorebook ReadListed(SpannerRow row) => new(row.Get<string>("LorebookId"), row.Get<string>("OwnerUserId"), row.Get<string>("Name"))
    {
        CharacterId = row.Get<string?>("CharacterId"),
        Description = row.Get<string>("Description"),
        ScanDepth = (int)row.Get<long>("ScanDepth"),
        TokenBudget = (int)row.Get<long>("TokenBudget"),
        Version = row.Get<long>("Version"),
        CreateTime = row.Get<DateTimeOffset>("CreateTime"),
        UpdateTime = row.Get<DateTimeOffset>("UpdateTime"),
    };

    /// <summary>The book's columns but its id, owner and create time, on <paramref name="mutation"/>.</summary>
    public static SpannerMutation SetFields(SpannerMutation mutation, Lorebook book) => mutation
        .Set("LorebookId", book.Id)
        .Set("CharacterId", book.CharacterId)
        .Set("Name", book.Name)
        .Set("Description", book.Description)
        .Set("ScanDepth", (long)book.ScanDepth)
        .Set("TokenBudget", (long)book.TokenBudget)
        .Set("Entries", EncodeEntries(book.Entries))
        .Set("Version", book.Version)
        .Set("UpdateTime", SpannerCommitTimestamp.Value);

    /// <summary>The insert of a new book (version 1).</summary>
    public static SpannerMutation Insert(Lorebook book) => SetFields(SpannerMutation.Insert("Lorebooks"), book with { Version = 1 })
        .Set("OwnerUserId", book.OwnerUserId)
        .Set("CreateTime", SpannerCommitTimestamp.Value);

    public static async Task<IReadOnlyList<Lorebook>> ReadAsync(ISpannerReader reader, IReadOnlyCollection<string> ids, CancellationToken cancellationToken) =>
        ids.Count == 0 ? [] : (await reader.QueryListAsync(
            new SpannerStatement($"SELECT {Columns} FROM Lorebooks WHERE LorebookId IN UNNEST(@ids)").Add("ids", SpannerType.ArrayOf(SpannerType.String), ids.ToList()),
            cancellationToken)).Select(Read).ToList();

    /// <summary>
    /// The books a reply of <paramref name="speakerId"/> in <paramref name="chatId"/> uses, whole, straight from
    /// <paramref name="reader"/> (e.g. the ledger's snapshot): one statement, the ids as <see cref="StampsSelect"/>
    /// finds them (the speaker's book by its index, the chat's attachments) and the rows by key.
    /// </summary>
    public static async Task<IReadOnlyList<Lorebook>> ReadForReplyAsync(ISpannerReader reader, string chatId, string speakerId, CancellationToken cancellationToken) =>
        (await reader.QueryListAsync(
            new SpannerStatement(
                $$"""
                SELECT {{Columns}} FROM Lorebooks WHERE LorebookId IN (
                  SELECT b.LorebookId FROM Lorebooks@{FORCE_INDEX=LorebooksByCharacter, spanner_emulator.disable_query_null_filtered_index_check=true} b WHERE b.CharacterId = @speakerId
                  UNION DISTINCT
                  SELECT c.LorebookId FROM ChatLorebooks c WHERE c.ChatId = @chatId)
                """)
                .Add("chatId", chatId).Add("speakerId", speakerId),
            cancellationToken)).Select(Read).ToList();

    public static byte[] EncodeEntries(IReadOnlyList<LoreEntry> entries)
    {
        var stored = new StoredLoreEntries();
        foreach (var e in entries)
        {
            stored.Entries.Add(new StoredLoreEntry
            {
                Id = e.Id,
                Comment = e.Comment,
                Keys = { e.Keys },
                SecondaryKeys = { e.SecondaryKeys },
                Selective = e.Selective,
                UseRegex = e.UseRegex,
                CaseSensitive = e.CaseSensitive,
                MatchAnywhere = !e.MatchWholeWords,
                Content = e.Content,
                Constant = e.Constant,
                Disabled = !e.Enabled,
                Position = (int)e.Position,
                Order = e.Order,
                Depth = e.Depth,
                ScanDepth = e.ScanDepth ?? 0,
            });
        }

        return stored.ToByteArray();
    }

    public static IReadOnlyList<LoreEntry> DecodeEntries(byte[] bytes) => StoredLoreEntries.Parser.ParseFrom(bytes).Entries
        .Select(e => new LoreEntry(e.Id)
        {
            Comment = e.Comment,
            Keys = [.. e.Keys],
            SecondaryKeys = [.. e.SecondaryKeys],
            Selective = e.Selective,
            UseRegex = e.UseRegex,
            CaseSensitive = e.CaseSensitive,
            MatchWholeWords = !e.MatchAnywhere,
            Content = e.Content,
            Constant = e.Constant,
            Enabled = !e.Disabled,
            Position = (LorePosition)e.Position,
            Order = e.Order,
            Depth = e.Depth,
            ScanDepth = e.ScanDepth == 0 ? null : e.ScanDepth,
        })
        .ToList();
}
