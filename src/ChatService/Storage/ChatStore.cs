using ChatService.Chats;
using Microsoft.Extensions.Options;
using Spanner.Client;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

/// <summary>
/// Chats, their history and the user's sends, in Spanner. Every call goes through
/// <see cref="SpannerGateway"/>, so it gets the client's session pool and ABORTED retry, and fails
/// with a <see cref="StorageException"/>.
/// Ownership checks happen inside the same reads and transactions that touch the data: another
/// user's chat is indistinguishable from a missing one.
/// </summary>
internal sealed partial class ChatStore(
    SpannerGateway spanner,
    TurnCommits commits,
    IOptions<ChatOptions> chatOptions,
    TimeProvider timeProvider,
    ChatCountFolder chatCounts) : IChatStore
{
    private ChatOptions Options => chatOptions.Value;

    /// <summary>
    /// Records a new chat and, in the same commit, the greetings of <paramref name="opening"/> as
    /// completed character turns (seq 1, 2, …), in the chat's character order, and the chat in each
    /// character's chat count (<see cref="CharacterChatCounts"/>: one random shard of it, the same for all).
    /// The counts reaching a fold point are folded after the commit (<see cref="ChatCountFolder"/>), never in
    /// it: the commit locks one counter row per character and writes no catalog row, whatever the characters.
    /// </summary>
    public async Task<(Chat Chat, IReadOnlyList<ChatTurn> Greetings)> CreateChatAsync(
        string userId, string title, IReadOnlyList<Character> characters, ChatOpening opening, CancellationToken cancellationToken)
    {
        var chatId = Ids.New();
        var greetings = characters
            .Select((c, i) => (Character: c, Text: opening.Greetings[i]))
            .Where(g => !string.IsNullOrEmpty(g.Text))
            .Select((g, i) => new ChatTurn(chatId, i + 1, AuthorRole.Character, g.Character.Id, g.Text!, ReplyState.Complete, Ids.New(), 1, default, null, null))
            .ToList();
        var preview = greetings.Count > 0 ? Text.Preview(greetings[^1].Text) : "";
        var characterIds = characters.Select(c => c.Id).ToList();

        // No change goes to the sink: nobody can have read, let alone cached, a chat before its id is returned.
        var countShard = Random.Shared.Next(CharacterChatCounts.Shards);
        IReadOnlyList<string> due = [];
        var (_, written, committed) = await commits.RunAsync(null, async (tx, turns, ct) =>
        {
            // Read before, outside; checked again here so a deletion that commits meanwhile is not missed.
            await CharacterStore.CheckOpenToAsync(tx, userId, characterIds, ct);
            tx.BufferWrite(SetSpeakers(SpannerMutation.Insert("Chats"), opening.Speakers)
                .Set("ChatId", chatId)
                .Set("UserId", userId)
                .Set("Title", title)
                .Set("CharacterIds", characterIds)
                .Set("NextSeq", (long)greetings.Count)
                .Set("RotationCursor", 0L)
                .Set("LastMessagePreview", preview)
                .Set("PersonaId", opening.PersonaId)
                .Set("CreateTime", SpannerCommitTimestamp.Value)
                .Set("LastActiveTime", SpannerCommitTimestamp.Value));
            greetings.ForEach(turns.InsertGreeting);
            due = await CharacterChatCounts.CountChatAsync(tx, characterIds, countShard, ct);
            return true;
        }, cancellationToken);
        chatCounts.Schedule(due);

        var chat = new Chat(chatId, userId, title, characterIds, greetings.Count, 0, preview, committed, committed, PersonaId: opening.PersonaId)
        {
            Speakers = opening.Speakers,
        };
        return (chat, written);
    }

    /// <summary>
    /// Replaces the speaker settings, title and archive state the update names, in one transaction that
    /// reads the chat (ownership, and the cast the settings are checked against) and writes its row: last
    /// writer wins, field by field. Nothing cached holds them (the recording transactions read the settings
    /// from the row; windows keep neither title nor archive state), so no window is touched. Archiving an
    /// archived chat keeps its ArchiveTime; unarchiving sets Archived to NULL (never FALSE: the index
    /// ChatsByUserArchive has one range per state).
    /// </summary>
    public async Task<Chat> UpdateSpeakersAsync(string userId, ChatSettingsUpdate update, CancellationToken cancellationToken)
    {
        var (chat, committed) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            var current = await ReadOwnedChatAsync(tx, userId, update.ChatId, ct) ?? throw ChatException.ChatNotFound(update.ChatId);
            if ((update.Fields & ChatSettingFields.MutedCharacterIds) != 0)
            {
                // Checked as sent (so the error names the request's own index), against the cast as read here.
                new SpeakerSettings(SpeakerStrategy.Rotation, update.Muted).CheckAgainst(current.CharacterIds, "chat.muted_character_ids");
            }

            var settings = update.ApplyTo(current.Speakers ?? SpeakerSettings.Default, current.CharacterIds);

            var write = SetSpeakers(SpannerMutation.Update("Chats").Set("ChatId", update.ChatId), settings);
            var changed = current with { Speakers = settings };
            if ((update.Fields & ChatSettingFields.Title) != 0)
            {
                write.Set("Title", update.Title);
                changed = changed with { Title = update.Title! };
            }

            if ((update.Fields & ChatSettingFields.Archived) != 0 && update.Archive != (current.ArchiveTime is not null))
            {
                write.Set("Archived", update.Archive ? true : null).Set("ArchiveTime", update.Archive ? SpannerCommitTimestamp.Value : null);
                changed = changed with { ArchiveTime = update.Archive ? DateTimeOffset.MinValue : null };
            }

            tx.BufferWrite(write);
            return changed;
        }, cancellationToken);
        // Archived in this commit: its time is the commit's.
        return chat.ArchiveTime == DateTimeOffset.MinValue ? chat with { ArchiveTime = committed } : chat;
    }

    public Task<Chat?> GetChatAsync(string userId, string chatId, CancellationToken cancellationToken) =>
        spanner.ReadAsync((reader, ct) => ReadOwnedChatAsync(reader, userId, chatId, ct), cancellationToken);

    /// <summary>
    /// One page of the user's chats, most recently active first, from the ChatsByUser index
    /// (which stores every listed column). <paramref name="after"/> is the last chat of the
    /// previous page; ties on LastActiveTime are broken by ChatId.
    /// </summary>
    public async Task<IReadOnlyList<Chat>> ListChatsAsync(
        string userId, (DateTimeOffset LastActiveTime, string ChatId)? after, int limit, CancellationToken cancellationToken)
    {
        // Pins are left out: the index does not store them (a chat's pins come with GetChat).
        var sql = $"SELECT {ListedChatColumns} FROM Chats@{{FORCE_INDEX=ChatsByUser}} WHERE UserId = @userId";
        if (after is not null)
        {
            sql += " AND (LastActiveTime < @afterTime OR (LastActiveTime = @afterTime AND ChatId > @afterId))";
        }

        var statement = new SpannerStatement(sql + " ORDER BY LastActiveTime DESC, ChatId LIMIT @limit")
            .Add("userId", userId)
            .Add("limit", (long)limit);
        if (after is { } cursor)
        {
            statement.Add("afterTime", cursor.LastActiveTime).Add("afterId", cursor.ChatId);
        }

        var rows = await spanner.ReadAsync((reader, ct) => reader.QueryListAsync(statement, ct), cancellationToken);
        return rows.Select(ReadChat).ToList();
    }

    /// <summary>
    /// Deletes the chat with everything under it, and its interrupted forks (owned by nobody: with their source's
    /// record gone nothing could finish or delete them). False when there was no such chat of the user's.
    /// </summary>
    public async Task<bool> DeleteChatAsync(string userId, string chatId, CancellationToken cancellationToken)
    {
        var commit = await commits.RunAsync(chatId, async (tx, _, ct) =>
        {
            if (await ReadOwnedChatAsync(tx, userId, chatId, ct) is null)
            {
                return false;
            }

            foreach (var fork in await OwnerlessForks.DeletionsAsync(tx, [chatId], [], ct))
            {
                tx.BufferWrite(fork);
            }

            tx.BufferWrite(SpannerMutation.Delete("Chats", SpannerKey.Of(chatId)));
            return true;
        }, cancellationToken);
        await (commit.Result ? commits.DeletedAsync(commit) : commits.ReleaseAsync(commit));
        return commit.Result;
    }

    /// <summary>
    /// Up to <paramref name="limit"/> turns with <c>Seq &lt; beforeSeq</c>, newest first; null when the
    /// chat does not exist or is not the user's. One read of the chat row, one range read of the
    /// chat's interleaved turns.
    /// </summary>
    public async Task<IReadOnlyList<ChatTurn>?> GetTurnsAsync(
        string userId, string chatId, long beforeSeq, int limit, CancellationToken cancellationToken)
    {
        if (await GetChatAsync(userId, chatId, cancellationToken) is null)
        {
            return null;
        }

        var turns = new SpannerStatement($"{TurnSelect} WHERE t.ChatId = @chatId AND t.Seq < @beforeSeq AND t.HiddenTime IS NULL ORDER BY t.Seq DESC LIMIT @limit")
            .Add("chatId", chatId)
            .Add("beforeSeq", beforeSeq)
            .Add("limit", (long)limit);
        var rows = await spanner.ReadAsync((reader, ct) => reader.QueryListAsync(turns, ct), cancellationToken);
        return rows.Select(r => ReadTurn(chatId, r)).ToList();
    }
}
