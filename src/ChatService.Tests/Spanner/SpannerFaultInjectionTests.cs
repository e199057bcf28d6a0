using Spanner.Client;

namespace ChatService.Tests.Spanner;

/// <summary>Against an emulator started with --enable_fault_injection, which aborts commits on purpose.</summary>
public sealed class SpannerFaultInjectionTests(FaultInjectionEmulatorFixture emulator) : IClassFixture<FaultInjectionEmulatorFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RunInTransaction_InjectedAborts_EveryTransactionAppliesExactlyOnce()
    {
        const int Transactions = 40;
        var client = await emulator.ClientForAsync(nameof(SpannerFaultInjectionTests));
        await client.WriteAsync([SpannerMutation.Insert("Counters").Set("Name", "total").Set("Value", 0L)], Ct);
        var throttle = new SemaphoreSlim(4);

        await Task.WhenAll(Enumerable.Range(0, Transactions).Select(async i =>
        {
            await throttle.WaitAsync(Ct);
            try
            {
                await client.RunInTransactionAsync(async (tx, ct) =>
                {
                    var current = await tx.QueryListAsync(new SpannerStatement("SELECT Value FROM Counters WHERE Name = 'total'"), ct);
                    tx.BufferWrite(SpannerMutation.Insert("Items").Set("Bucket", "fault").Set("Id", $"{i:D3}"));
                    tx.BufferWrite(SpannerMutation.Update("Counters").Set("Name", "total").Set("Value", current[0].Get<long>(0) + 1));
                    return 0;
                }, Ct);
            }
            finally
            {
                throttle.Release();
            }
        }));

        TestContext.Current.TestOutputHelper?.WriteLine($"commits={client.Statistics.Commits} aborts={client.Statistics.Aborts} transactions={client.Statistics.Transactions}");
        var rows = await client.QueryListAsync(new SpannerStatement("SELECT COUNT(*) FROM Items WHERE Bucket = 'fault'"), cancellationToken: Ct);
        var counter = await client.QueryListAsync(new SpannerStatement("SELECT Value FROM Counters WHERE Name = 'total'"), cancellationToken: Ct);
        Assert.Equal(Transactions, rows[0].Get<long>(0));
        Assert.Equal(Transactions, counter[0].Get<long>(0));
        Assert.True(client.Statistics.Aborts > 0, "fault injection should have aborted some commits");
        Assert.Equal(Transactions + 1, client.Statistics.Commits);
    }
}
