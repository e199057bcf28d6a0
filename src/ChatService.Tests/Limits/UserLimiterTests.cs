using ChatService.Chats;
using ChatService.Limits;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ChatService.Tests.Limits;

/// <summary>The limiter on its own: partitions per user, slot hand-over, the retry hints.</summary>
public sealed class UserLimiterTests
{
    private static UserLimiter Create(int perMinute = 60, int burst = 3, int concurrent = 2) =>
        new(Options.Create(new LimitsOptions { SendsPerMinute = perMinute, SendBurst = burst, ConcurrentRepliesPerUser = concurrent }),
            NullLogger<UserLimiter>.Instance);

    [Fact]
    public void Admit_BeyondTheBurst_RefusesWithTheTimeToTheNextToken()
    {
        using var limiter = Create(perMinute: 6, burst: 3, concurrent: 100);
        for (var i = 0; i < 3; i++)
        {
            limiter.Admit("alice", "SendMessage").Dispose();
        }

        var ex = Assert.Throws<ChatException>(() => limiter.Admit("alice", "SendMessage"));

        Assert.Equal(ChatErrorKind.ResourceExhausted, ex.Kind);
        Assert.Contains("6 per minute", ex.Message);
        Assert.InRange(ex.RetryAfter!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        // Another user has a bucket of their own.
        limiter.Admit("bob", "SendMessage").Dispose();
    }

    [Fact]
    public void Admit_BeyondConcurrentReplies_RefusesUntilASlotIsGivenBack_WithoutSpendingTokens()
    {
        using var limiter = Create(perMinute: 60, burst: 3, concurrent: 2);
        var first = limiter.Admit("alice", "SendMessage");
        var second = limiter.Admit("alice", "SendMessage");

        var ex = Assert.Throws<ChatException>(() => limiter.Admit("alice", "Regenerate"));
        Assert.Contains("at most 2 at a time", ex.Message);
        Assert.Equal(UserLimiter.ConcurrencyRetryAfter, ex.RetryAfter);

        first.Release();
        // The refused call took no token: the third of the burst is still there.
        limiter.Admit("alice", "SendMessage").Dispose();
        second.Dispose();
    }

    [Fact]
    public async Task HeldSlot_IsGivenBackWhenTheRepliesSettle_NotWhenTheCallEnds()
    {
        using var limiter = Create(concurrent: 1);
        var settled = new TaskCompletionSource();

        using (var admission = limiter.Admit("alice", "SendMessage"))
        {
            admission.HoldUntil(settled.Task);
        }

        Assert.Throws<ChatException>(() => limiter.Admit("alice", "SendMessage"));
        settled.SetResult();
        await Task.Yield();
        limiter.Admit("alice", "SendMessage").Dispose();
    }

    [Fact]
    public void Release_IsIdempotent()
    {
        using var limiter = Create(concurrent: 1);
        var admission = limiter.Admit("alice", "SendMessage");
        admission.HoldUntil(Task.CompletedTask);

        admission.Release();
        admission.Dispose();
        var next = limiter.Admit("alice", "SendMessage");

        // A second release of the old admission must not free the new holder's slot.
        admission.Release();
        Assert.Throws<ChatException>(() => limiter.Admit("alice", "SendMessage"));
        next.Dispose();
    }
}
