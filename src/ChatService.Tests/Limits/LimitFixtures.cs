using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Limits;

/// <summary>A tight rate: bursts of 2, then one reply-starting call per 5 s per user.</summary>
public sealed class TightRateFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public const int Burst = 2;
    public static readonly TimeSpan TokenPeriod = TimeSpan.FromSeconds(5);

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Limits:SendsPerMinute"] = "12",
        ["Limits:SendBurst"] = Burst.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>At most two replies of a user in flight; no practical rate limit.</summary>
public sealed class TwoRepliesFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Limits:ConcurrentRepliesPerUser"] = "2",
    };
}
