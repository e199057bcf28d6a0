using ChatService.Cache;
using Microsoft.Extensions.Time.Testing;

namespace ChatService.Tests.Cache;

public sealed class CircuitBreakerTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void OpensAfterThresholdConsecutiveFailures_AndRefusesCalls()
    {
        var breaker = new CircuitBreaker(3, TimeSpan.FromSeconds(2), _time);

        breaker.Failure();
        breaker.Failure();
        Assert.True(breaker.TryEnter());
        breaker.Failure();

        Assert.True(breaker.IsOpen);
        Assert.False(breaker.TryEnter());
    }

    [Fact]
    public void ASuccessResetsTheFailureCount()
    {
        var breaker = new CircuitBreaker(2, TimeSpan.FromSeconds(2), _time);

        breaker.Failure();
        breaker.Success();
        breaker.Failure();

        Assert.False(breaker.IsOpen);
    }

    [Fact]
    public void AfterTheOpenDuration_LetsOneProbeThrough_WhoseSuccessCloses()
    {
        var breaker = new CircuitBreaker(1, TimeSpan.FromSeconds(2), _time);
        var closed = 0;
        breaker.Closed += () => closed++;
        breaker.Failure();

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(breaker.TryEnter());
        Assert.False(breaker.TryEnter());
        breaker.Success();

        Assert.False(breaker.IsOpen);
        Assert.True(breaker.TryEnter());
        Assert.Equal(1, closed);
    }

    [Fact]
    public void AFailedProbe_OpensItAgainForAnotherPeriod()
    {
        var breaker = new CircuitBreaker(1, TimeSpan.FromSeconds(2), _time);
        breaker.Failure();
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(breaker.TryEnter());

        breaker.Failure();

        Assert.False(breaker.TryEnter());
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(breaker.TryEnter());
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(breaker.TryEnter());
    }
}
