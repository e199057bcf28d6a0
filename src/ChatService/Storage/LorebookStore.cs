using ChatService.Chats;
using Microsoft.Extensions.Caching.Memory;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// Lorebooks (Lorebooks) and the chats that use them (ChatLorebooks, interleaved in Chats). The books a
/// reply uses are kept in process memory by id and served again only while the reply's definitions read
/// (which carries their versions) shows them current: a warm chat's lore costs Spanner nothing more.
/// </summary>
internal sealed class LorebookStore(SpannerGateway spanner, IMemoryCache memory) : ILorebookStore
{
    /// <summary>How long a cached book not used is kept (its memory bound is the cache's, by bytes).</summary>
    private static readonly TimeSpan Unused = TimeSpan.FromHours(1);

    public async Task<Lorebook> CreateAsync(Lorebook book, CancellationToken cancellationToken)
    {
        var (_, committed) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            await CheckRoomAsync(tx, book.OwnerUserId, ct);
            if (book.CharacterId is { } characterId)
            {
                await CheckCharacterAsync(tx, book.OwnerUserId, characterId, book.Id, ct);
            }

            tx.BufferWrite(LorebookRows.Insert(book));
            return true;
        }, cancellationToken);
        return book with { Version = 1, CreateTime = committed, UpdateTime = committed };
    }

    /// <summary>
    /// FAILED_PRECONDITION when <paramref name="userId"/> has <see cref="LoreLimits.MaxBooksPerUser"/> books
    /// already: what every write of a new book (CreateLorebook, a card import's book) checks in its transaction.
    /// </summary>
    internal static async Task CheckRoomAsync(SpannerTransaction tx, string userId, CancellationToken ct)
    {
        var count = (await tx.QueryListAsync(
            new SpannerStatement("SELECT COUNT(*) FROM Lorebooks WHERE OwnerUserId = @userId").Add("userId", userId), ct))[0].Get<long>(0);
        if (count >= LoreLimits.MaxBooksPerUser)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition,
                $"you have {count} lorebooks, the most a user may have ({LoreLimits.MaxBooksPerUser}); delete one first");
        }
    }

    public Task<Lorebook?> GetAsync(string userId, string lorebookId, CancellationToken cancellationToken) =>
        spanner.ReadAsync((reader, ct) => ReadOwnAsync(reader, userId, lorebookId, ct), cancellationToken);

    public Task<IReadOnlyList<Lorebook>> ListAsync(string userId, string? chatId, int limit, (string Name, string LorebookId)? after, CancellationToken cancellationToken) =>
        spanner.SnapshotAsync<IReadOnlyList<Lorebook>>(async (reader, ct) =>
        {
            // After the previous page's last book in (name, id) order; @limit is one more than a page (Page.FromRows).
            var page = (after is null ? "" : " AND (Name > @afterName OR (Name = @afterName AND LorebookId > @afterId))")
                + " ORDER BY Name, LorebookId LIMIT @limit";
            SpannerStatement Paged(SpannerStatement statement) => (after is { } cursor
                ? statement.Add("afterName", cursor.Name).Add("afterId", cursor.LorebookId)
                : statement).Add("limit", (long)limit);
            if (chatId is null)
            {
                var rows = await reader.QueryListAsync(
                    Paged(new SpannerStatement($"SELECT {LorebookRows.ListedColumns} FROM Lorebooks WHERE OwnerUserId = @userId{page}").Add("userId", userId)), ct);
                return rows.Select(LorebookRows.ReadListed).ToList();
            }

            await CheckChatAsync(reader, userId, chatId, ct);
            var attached = await reader.QueryListAsync(
                Paged(new SpannerStatement(
                    $"SELECT {LorebookRows.ListedColumns} FROM Lorebooks WHERE LorebookId IN (SELECT LorebookId FROM ChatLorebooks WHERE ChatId = @chatId){page}")
                    .Add("chatId", chatId)),
                ct);
            return attached.Select(LorebookRows.ReadListed).ToList();
        }, cancellationToken);

    public async Task<Lorebook> UpdateAsync(string userId, LorebookUpdate update, CancellationToken cancellationToken)
    {
        bool Has(LorebookFields field) => (update.Fields & field) != 0;
        var (next, committed) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            var current = await ReadOwnAsync(tx, userId, update.LorebookId, ct) ?? throw LorebookDirectory.NotFound(update.LorebookId);
            if (update.ExpectedVersion is { } expected && expected != current.Version)
            {
                throw new ChatException(ChatErrorKind.Aborted,
                    $"lorebook {update.LorebookId} is at version {current.Version}, not {expected}: read it again and apply the change to it");
            }

            var values = update.Values;
            var next = current with
            {
                Name = Has(LorebookFields.Name) ? values.Name : current.Name,
                Description = Has(LorebookFields.Description) ? values.Description : current.Description,
                ScanDepth = Has(LorebookFields.ScanDepth) ? values.ScanDepth : current.ScanDepth,
                TokenBudget = Has(LorebookFields.TokenBudget) ? values.TokenBudget : current.TokenBudget,
                Entries = Has(LorebookFields.Entries) ? values.Entries : current.Entries,
                CharacterId = Has(LorebookFields.CharacterId) ? values.CharacterId : current.CharacterId,
                Version = current.Version + 1,
            };

            // Only a character the book gains is checked: one it keeps may have been deleted since.
            if (next.CharacterId is { } characterId && characterId != current.CharacterId)
            {
                await CheckCharacterAsync(tx, userId, characterId, next.Id, ct);
            }

            tx.BufferWrite(LorebookRows.SetFields(SpannerMutation.Update("Lorebooks"), next));
            return next;
        }, cancellationToken);
        return next with { UpdateTime = committed };
    }

    public async Task<bool> DeleteAsync(string userId, string lorebookId, CancellationToken cancellationToken)
    {
        var (deleted, _) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            if (await ReadOwnAsync(tx, userId, lorebookId, ct) is null)
            {
                return false;
            }

            var chats = await tx.QueryListAsync(
                new SpannerStatement("SELECT ChatId FROM ChatLorebooks@{FORCE_INDEX=ChatLorebooksByLorebook} WHERE LorebookId = @id").Add("id", lorebookId), ct);
            foreach (var chat in chats)
            {
                tx.BufferWrite(SpannerMutation.Delete("ChatLorebooks", SpannerKey.Of(chat.Get<string>("ChatId"), lorebookId)));
            }

            tx.BufferWrite(SpannerMutation.Delete("Lorebooks", SpannerKey.Of(lorebookId)));
            return true;
        }, cancellationToken);
        return deleted;
    }

    public async Task<IReadOnlyList<string>> AttachAsync(string userId, string chatId, string lorebookId, CancellationToken cancellationToken)
    {
        var (ids, _) = await spanner.TransactionAsync<IReadOnlyList<string>>(async (tx, ct) =>
        {
            await CheckChatAsync(tx, userId, chatId, ct);
            _ = await ReadOwnAsync(tx, userId, lorebookId, ct) ?? throw LorebookDirectory.NotFound(lorebookId);
            var attached = await AttachedAsync(tx, chatId, ct);
            if (attached.Contains(lorebookId))
            {
                return attached;
            }

            if (attached.Count >= LoreLimits.MaxBooksPerChat)
            {
                throw new ChatException(ChatErrorKind.FailedPrecondition,
                    $"chat {chatId} uses {attached.Count} lorebooks, the most a chat may use ({LoreLimits.MaxBooksPerChat}); detach one first");
            }

            tx.BufferWrite(SpannerMutation.Insert("ChatLorebooks")
                .Set("ChatId", chatId)
                .Set("LorebookId", lorebookId)
                .Set("AttachTime", SpannerCommitTimestamp.Value));
            return [.. attached.Append(lorebookId).Order(StringComparer.Ordinal)];
        }, cancellationToken);
        return ids;
    }

    public async Task<IReadOnlyList<string>> DetachAsync(string userId, string chatId, string lorebookId, CancellationToken cancellationToken)
    {
        var (ids, _) = await spanner.TransactionAsync<IReadOnlyList<string>>(async (tx, ct) =>
        {
            await CheckChatAsync(tx, userId, chatId, ct);
            var attached = await AttachedAsync(tx, chatId, ct);
            if (attached.Contains(lorebookId))
            {
                tx.BufferWrite(SpannerMutation.Delete("ChatLorebooks", SpannerKey.Of(chatId, lorebookId)));
            }

            return attached.Where(id => id != lorebookId).ToList();
        }, cancellationToken);
        return ids;
    }

    /// <summary>
    /// The books with these current versions (just read with the reply's definitions): the copies held here
    /// that match, and the others read whole (a read that follows only a change of a book, or its first use here).
    /// </summary>
    internal async Task<IReadOnlyList<Lorebook>> CurrentAsync(IReadOnlyCollection<(string Id, long Version)> stamps, CancellationToken cancellationToken)
    {
        var found = new List<Lorebook>(stamps.Count);
        var stale = new List<string>();
        foreach (var (id, version) in stamps.DistinctBy(s => s.Id))
        {
            if (memory.TryGetValue(Key(id), out Lorebook? held) && held!.Version == version)
            {
                found.Add(held);
            }
            else
            {
                stale.Add(id);
            }
        }

        if (stale.Count > 0)
        {
            foreach (var book in await spanner.ReadAsync((reader, ct) => LorebookRows.ReadAsync(reader, stale, ct), cancellationToken))
            {
                if (!(memory.TryGetValue(Key(book.Id), out Lorebook? held) && held!.Version > book.Version))
                {
                    memory.Set(Key(book.Id), book, new MemoryCacheEntryOptions { Size = DefinitionBytes.Of(book), SlidingExpiration = Unused });
                }

                found.Add(book);
            }
        }

        return found;
    }

    private static (string, string) Key(string lorebookId) => ("lorebook", lorebookId);

    private static async Task<Lorebook?> ReadOwnAsync(ISpannerReader reader, string userId, string lorebookId, CancellationToken cancellationToken)
    {
        var books = await LorebookRows.ReadAsync(reader, [lorebookId], cancellationToken);
        return books.Count == 1 && books[0].OwnerUserId == userId ? books[0] : null;
    }

    private static async Task<List<string>> AttachedAsync(ISpannerReader reader, string chatId, CancellationToken cancellationToken) =>
        (await reader.QueryListAsync(new SpannerStatement("SELECT LorebookId FROM ChatLorebooks WHERE ChatId = @chatId ORDER BY LorebookId").Add("chatId", chatId), cancellationToken))
        .Select(r => r.Get<string>("LorebookId"))
        .ToList();

    private static async Task CheckChatAsync(ISpannerReader reader, string userId, string chatId, CancellationToken cancellationToken)
    {
        if (await ChatRows.ReadChatAsync(reader, chatId, cancellationToken) is not { } chat || chat.UserId != userId)
        {
            throw ChatException.ChatNotFound(chatId);
        }
    }

    /// <summary>NOT_FOUND for a character the user does not own (or deleted); FAILED_PRECONDITION when it has another book.</summary>
    private static async Task CheckCharacterAsync(ISpannerReader reader, string userId, string characterId, string lorebookId, CancellationToken cancellationToken)
    {
        var found = await CharacterStore.ReadAsync(reader, [characterId], cancellationToken);
        if (found.Count == 0 || found[0].OwnerUserId != userId || found[0].IsDeleted)
        {
            throw ChatException.CharacterNotFound(characterId);
        }

        var other = await reader.QueryListAsync(
            new SpannerStatement("SELECT LorebookId FROM Lorebooks@{FORCE_INDEX=LorebooksByCharacter, spanner_emulator.disable_query_null_filtered_index_check=true} WHERE CharacterId = @characterId AND LorebookId != @id")
                .Add("characterId", characterId).Add("id", lorebookId),
            cancellationToken);
        if (other.Count > 0)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition,
                $"character {characterId} has lorebook {other[0].Get<string>("LorebookId")} already (a character has one); update that one, or attach this one to chats");
        }
    }
}
