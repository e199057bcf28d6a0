using ChatService.Chats;
using Spanner.Client;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

internal sealed partial class ChatStore
{
    /// <summary>
    /// Records the chat owner's rating of one candidate of a character turn (the primary one when
    /// <paramref name="candidateId"/> is null), replacing an earlier one. History shows the rating of
    /// the primary candidate on its turn, so that rating moves the turn's version and reaches the
    /// cached window; a rating of another candidate changes nothing shown. Returns the rating as stored.
    /// </summary>
    public async Task<TurnRating> RateCandidateAsync(
        string userId, string chatId, long seq, string? candidateId, TurnRating rating, CancellationToken cancellationToken)
    {
        var commit = await commits.RunAsync(chatId, async (tx, turns, ct) =>
        {
            _ = await ReadOwnedChatAsync(tx, userId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
            var stored = await ReadCandidateAsync(tx, chatId, seq, candidateId, ct)
                ?? throw (candidateId is null
                    ? ChatException.TurnNotFound(chatId, seq)
                    : new ChatException(ChatErrorKind.NotFound, $"candidate {candidateId} of turn {seq} not found"));
            var turn = stored.Turn;
            if (turn.Role != AuthorRole.Character)
            {
                throw new ChatException(ChatErrorKind.FailedPrecondition, $"turn {seq} is a user turn; only character turns' candidates can be rated");
            }

            if (turn.Hidden)
            {
                throw ChatException.TurnHidden(chatId, seq);
            }

            if (turn.State is ReplyState.Pending or ReplyState.Streaming)
            {
                throw new ChatException(ChatErrorKind.FailedPrecondition, $"candidate {turn.CandidateId} of turn {seq} is still being generated; rate it once it is stored");
            }

            turns.Rate(turn, userId, rating, stored.IsPrimary);
            return stored.IsPrimary;
        }, cancellationToken);

        await (commit.Result ? commits.ShownAsync(commit, commit.Turns) : commits.ReleaseAsync(commit));
        return rating with { UpdateTime = commit.Committed };
    }

    /// <summary>
    /// Pins a shown turn (Chats.PinnedSeqs stays ascending, without repeats): pinning a pinned turn
    /// changes nothing; past <see cref="ChatOptions.MaxPinnedTurns"/> pins it is refused. Returns the chat.
    /// </summary>
    public Task<Chat> PinTurnAsync(string userId, string chatId, long seq, CancellationToken cancellationToken) =>
        ChangePinsAsync(userId, chatId, async (tx, chat, pins, ct) =>
        {
            var states = await ReadHiddenStatesAsync(tx, chat, [seq], ct);
            if (states[seq] is not null)
            {
                throw ChatException.TurnHidden(chatId, seq);
            }

            if (pins.Contains(seq))
            {
                return null;
            }

            if (pins.Count >= Options.MaxPinnedTurns)
            {
                throw new ChatException(ChatErrorKind.FailedPrecondition,
                    $"chat {chatId} already has {pins.Count} pinned turns, the most a chat may have ({Options.MaxPinnedTurns}); unpin one first");
            }

            return [.. pins.Append(seq).Order()];
        }, cancellationToken);

    /// <summary>Unpins a turn; a turn that is not pinned (or does not exist) changes nothing. Returns the chat.</summary>
    public Task<Chat> UnpinTurnAsync(string userId, string chatId, long seq, CancellationToken cancellationToken) =>
        ChangePinsAsync(userId, chatId, (_, _, pins, _) =>
            Task.FromResult<List<long>?>(pins.Contains(seq) ? [.. pins.Where(s => s != seq)] : null), cancellationToken);

    /// <summary>
    /// Reads the user's chat and its pins in a transaction, and writes the pins <paramref name="change"/>
    /// returns (null: none to write). The history cache keeps the pins with the chat's window (a warm
    /// reply reads them there), so a change drops the window; the next reader loads it afresh.
    /// </summary>
    private async Task<Chat> ChangePinsAsync(
        string userId,
        string chatId,
        Func<SpannerTransaction, Chat, IReadOnlyList<long>, CancellationToken, Task<List<long>?>> change,
        CancellationToken cancellationToken)
    {
        var commit = await commits.RunAsync(chatId, async (tx, _, ct) =>
        {
            var chat = await ReadOwnedChatAsync(tx, userId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
            var pins = chat.PinnedSeqs ?? [];
            if (await change(tx, chat, pins, ct) is not { } changed)
            {
                return (Chat: chat with { PinnedSeqs = pins }, Changed: false);
            }

            tx.BufferWrite(SpannerMutation.Update("Chats").Set("ChatId", chatId).Set("PinnedSeqs", changed));
            return (Chat: chat with { PinnedSeqs = changed }, Changed: true);
        }, cancellationToken);

        await (commit.Result.Changed ? commits.ChatChangedAsync(commit) : commits.ReleaseAsync(commit));
        return commit.Result.Chat;
    }
}
