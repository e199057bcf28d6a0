namespace ChatService.Tests.Spanner;

/// <summary>A second private emulator started with --enable_fault_injection: it aborts commits on purpose.</summary>
public sealed class FaultInjectionEmulatorFixture : SpannerEmulatorFixture
{
    protected override bool FaultInjection => true;
}
