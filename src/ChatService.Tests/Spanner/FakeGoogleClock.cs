using Google.Apis.Util;

namespace ChatService.Tests.Spanner;

/// <summary>The clock Google.Apis.Auth judges token expiry by, moved by the test.</summary>
internal sealed class FakeGoogleClock(DateTime utcNow) : IClock
{
    private long _ticks = utcNow.Ticks;

    public DateTime UtcNow => new(Interlocked.Read(ref _ticks), DateTimeKind.Utc);

    public DateTime Now => UtcNow.ToLocalTime();

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
