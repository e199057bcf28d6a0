using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.Hosting;

namespace ChatService.Tests.Hostile;

/// <summary>
/// Thousands of randomized malformed and abusive requests against the in-process service on the
/// real emulator and Redis Cluster (issue 6, part 7). The random seed is printed; set
/// HOSTILE_SEED to replay the same requests.
/// </summary>
public sealed class HostileInputTests(HostileFixture fixture) : IClassFixture<HostileFixture>
{
    /// <summary>Rejected, read-only or repeated requests, around which no row may change.</summary>
    private const int NoWriteCases = 2_400;

    /// <summary>Legitimate writes cut short, mixed with more hostile requests.</summary>
    private const int MixedCases = 600;

    private const double WriteShare = 0.3;

    private const int Parallelism = 8;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task HostileRequests_NeverInternal_WriteNothingWhenRejected_LeaveEveryChatConsistent()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("HOSTILE_SEED"), out var fixedSeed) ? fixedSeed : Random.Shared.Next();
        Log($"HOSTILE_SEED={seed}");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var world = await HostileWorld.SeedAsync(fixture, Ct);
        Assert.Empty(await ChatConsistency.WaitUntilSettledAsync(fixture.Database, TimeSpan.FromSeconds(30), Ct));
        await fixture.ChatCountsFoldedAsync(Ct);
        Log($"seeded in {clock.Elapsed.TotalSeconds:F1} s");

        // Every request is drawn before any runs, so a seed replays the same ones whatever the timing.
        var cases = new HostileCases(fixture, world, new Random(seed));
        var noWrites = cases.NoWrites(NoWriteCases);
        var mixed = cases.Mixed(MixedCases, WriteShare);

        // Phase 1: nothing may be written, so every row of every table must be exactly as before.
        var before = await TableFingerprint.TakeAsync(fixture.Database, Ct);
        var first = await CaseRunner.RunAsync(noWrites, Parallelism, Ct);
        Log($"phase 1: {noWrites.Count} requests that must write nothing: {first.Summary}");
        var after = await TableFingerprint.TakeAsync(fixture.Database, Ct);
        var failures = after.ChangesSince(before).Select(change => $"written by phase 1: {change}").ToList();

        // Phase 2: writes cut short among more hostile requests; then every chat must be consistent.
        var second = await CaseRunner.RunAsync(mixed, Parallelism, Ct);
        Log($"phase 2: {mixed.Count} requests, {mixed.Count(c => c.Effect == CaseEffect.MayWrite)} of them writes cut short: {second.Summary}");
        clock.Restart();
        failures.AddRange(await ChatConsistency.WaitUntilSettledAsync(fixture.Database, TimeSpan.FromSeconds(60), Ct));
        Log($"every reply settled {clock.Elapsed.TotalSeconds:F1} s after phase 2");
        failures.AddRange(await ChatConsistency.CheckAsync(fixture, Ct));
        await fixture.ChatCountsFoldedAsync(Ct);
        failures.AddRange(await CatalogConsistency.CheckAsync(fixture.Database, Ct));
        Log($"tables after phase 2: {await TableFingerprint.TakeAsync(fixture.Database, Ct)}; checked in {clock.Elapsed.TotalSeconds:F1} s");

        // Never a crash: the service still answers health checks and a legitimate request, and logged no error.
        failures.AddRange(await StillServingAsync());
        Assert.True(fixture.Errors.IsAttached, "the error log collector is not wired into the service's logging");
        failures.AddRange(fixture.Errors.Entries.Take(10).Select(entry => $"logged: {entry}"));
        failures.AddRange(first.Violations);
        failures.AddRange(second.Violations);

        Assert.True(failures.Count == 0,
            $"HOSTILE_SEED={seed}: {failures.Count} kinds of violation\n" + string.Join("\n", failures.Take(60)));
    }

    private async Task<List<string>> StillServingAsync()
    {
        var problems = new List<string>();
        if (fixture.Service<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested)
        {
            problems.Add("the service is stopping");
        }

        var health = await new Health.HealthClient(fixture.Invoker).CheckAsync(new HealthCheckRequest(), cancellationToken: Ct);
        if (health.Status != HealthCheckResponse.Types.ServingStatus.Serving)
        {
            problems.Add($"gRPC health is {health.Status}");
        }

        using var http = fixture.Factory.CreateClient();
        var ready = await http.GetAsync("/healthz/ready", Ct);
        if (!ready.IsSuccessStatusCode)
        {
            problems.Add($"/healthz/ready answered {(int)ready.StatusCode}");
        }

        // A fresh user, so that a per-user rate limit spent by the storm does not count against it.
        var events = await LegitimateExchangeAsync(TestUsers.New());
        if (events.LastOrDefault()?.EventCase != ReplyEvent.EventOneofCase.Completed)
        {
            problems.Add($"a legitimate send ended with {events.LastOrDefault()?.EventCase.ToString() ?? "no event"}");
        }

        return problems;
    }

    /// <summary>Creates a character and a chat and sends a message, retrying what a rate limit refuses.</summary>
    private async Task<List<ReplyEvent>> LegitimateExchangeAsync(string user)
    {
        var client = fixture.Client(user);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var character = await client.CreateCharacterAsync(new CreateCharacterRequest { DisplayName = "Ada", Persona = "Kind." }, cancellationToken: Ct);
                var chat = await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } }, cancellationToken: Ct);
                using var call = client.SendMessage(new SendMessageRequest { ChatId = chat.ChatId, Text = "Still there?" }, cancellationToken: Ct);
                return await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted && attempt < 10)
            {
                await Task.Delay(500, Ct);
            }
        }
    }

    private static void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);
}
