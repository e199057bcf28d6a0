namespace ChatService.Tests.Resilience;

/// <summary>A jitter source that always draws the same number, to pin a delay to one end of its range.</summary>
internal sealed class FixedRandom(double value) : Random
{
    public override double NextDouble() => value;
}
