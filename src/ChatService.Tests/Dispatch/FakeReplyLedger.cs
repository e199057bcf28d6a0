using System.Diagnostics;
using ChatService.Chats;

namespace ChatService.Tests.Dispatch;

/// <summary>
/// The reply ledger as a mirror sees it: <see cref="GetReplyAsync"/> answers with <see cref="Reply"/>
/// and records when it was asked. Everything else is out of a mirror's business and throws.
/// </summary>
internal sealed class FakeReplyLedger : IReplyLedger
{
    private readonly Lock _gate = new();
    private readonly List<long> _reads = [];

    /// <summary>The reply as storage holds it now; null: it does not exist.</summary>
    public ChatTurn? Reply
    {
        get => Volatile.Read(ref field);
        set => Volatile.Write(ref field, value);
    }

    /// <summary>When <see cref="GetReplyAsync"/> was called, as <see cref="Stopwatch"/> timestamps.</summary>
    public IReadOnlyList<long> ReadTimes
    {
        get
        {
            lock (_gate)
            {
                return [.. _reads];
            }
        }
    }

    public int Reads => ReadTimes.Count;

    public Task<ChatTurn?> GetReplyAsync(string userId, string chatId, long seq, string? candidateId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _reads.Add(Stopwatch.GetTimestamp());
        }

        return Task.FromResult(Reply);
    }


    public Task<ReplyContext?> LoadReplyContextAsync(ReplyKey key, int windowTurns, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<IReadOnlyList<ChatTurn>> GetShownTurnsAsync(string chatId, IReadOnlyList<long> seqs, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<OwedReplies> AddCandidateAsync(string userId, string chatId, long seq, string requestId, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<EditedReplies> EditAndAddCandidateAsync(string userId, string chatId, long seq, string text, string requestId, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<bool> EditAndRegenerateRecordedAsync(string userId, string chatId, long seq, string requestId, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<IReadOnlyList<TurnCandidate>> ListCandidatesAsync(string userId, string chatId, long seq, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<StoredPrompt> GetReplyPromptAsync(string? ownerUserId, string chatId, long seq, string? candidateId, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<ChatTurn> SelectCandidateAsync(string userId, string chatId, long seq, string candidateId, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<OwedReplies> RecordContinuationAsync(string userId, string chatId, string requestId, SpeakerChoice speakers, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<OwedReplies> ContinueReplyAsync(string userId, string chatId, long seq, string requestId, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<ClaimResult> ClaimExpiredAsync(int limit, bool allShards, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<LeaseStatus> RenewLeaseAsync(ReplyKey key, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task ReleaseLeaseAsync(ReplyKey key, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<SettledReply?> SettleReplyAsync(ReplyOutcome outcome, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public Task<SettledReply?> CancelOwedReplyAsync(string userId, ReplyKey key, CancellationToken cancellationToken) =>
        throw new NotSupportedException();
}
