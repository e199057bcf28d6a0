using ChatService.Chats;
using ChatService.Storage;
using ChatService.Tests.Hostile;
using ChatService.Tests.Spanner;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Spanner.Client;

namespace ChatService.Tests.Storage;

/// <summary>
/// The catalog backfill (schema version 7): which characters are marked pending, and the background job
/// that writes their rows under a lease, resumable, in commits within the mutation budget.
/// </summary>
[Collection(SpannerEmulatorCollection.Name)]
public sealed class CatalogBackfillTests(SpannerEmulatorFixture emulator)
{
    private const string Owner = "owner-1";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CharactersFromBeforeTheCatalog_AreMarkedPending_AndTheJobGivesThemTheirRows_InEveryListing()
    {
        var scripts = SchemaScript.LoadAll();
        await using var database = await DatabaseAsync([.. scripts.Where(s => s.Version < 6)]);
        var older = Enumerable.Range(0, 45).Select(i => Character($"Older {i}", (CharacterVisibility)(1 + (i % 3)))).ToList();
        await database.WriteAsync(older.Select(InsertAsAnEarlierReleaseWould), Ct);
        await using (var admin = SpannerAdminClient.Create(emulator.Options(DatabaseId(database))))
        {
            await admin.UpdateDdlAsync([.. scripts.Where(s => s.Version >= 6).SelectMany(s => s.Statements)], Ct);
        }

        Assert.Equal(45, await PendingCountAsync(database));
        using var memory = new MemoryCache(new MemoryCacheOptions());
        var store = new CharacterStore(new SpannerGateway(database), memory);
        Assert.Empty(await store.ListAsync("someone", new CharacterList(CharacterListing.Public, CharacterOrder.MostUsed, null), null, 100, Ct));

        Assert.Equal(45, await Backfill(database, "replica-a").RunOnceAsync(Ct));

        var own = await store.ListAsync(Owner, new CharacterList(CharacterListing.Own, CharacterOrder.Newest, "older"), null, 100, Ct);
        var catalog = await store.ListAsync("someone", new CharacterList(CharacterListing.Public, CharacterOrder.MostUsed, null), null, 100, Ct);
        Assert.Equal(45, own.Count);
        Assert.Equal(older.Where(c => c.Visibility == CharacterVisibility.Public).Select(c => c.Id).Order(), catalog.Select(e => e.Cursor.CharacterId).Order());
        Assert.Empty(await CatalogConsistency.CheckAsync(database, Ct));
        Assert.Equal(0, await PendingCountAsync(database));

        // The partitions' leases show the work done and are let go, so another replica need not wait for them.
        var leases = await LeasesAsync(database);
        Assert.Equal(45L, leases.Sum(l => l.Done));
        Assert.All(leases, l => Assert.Equal("replica-a", l.Owner));
        Assert.All(leases, l => Assert.True(l.ExpireTime <= DateTimeOffset.UtcNow));

        // Nothing left: a round is the one index read, and writes nothing.
        Assert.Equal(0, await Backfill(database, "replica-b").RunOnceAsync(Ct));
        Assert.All(await LeasesAsync(database), l => Assert.Equal("replica-a", l.Owner));
    }

    [Fact]
    public async Task ThisReleasesWrites_ClearTheMark_AndAnEarlierReleasesInsert_GetsIt()
    {
        await using var database = await DatabaseAsync(SchemaScript.LoadAll());
        using var memory = new MemoryCache(new MemoryCacheOptions());
        var gateway = new SpannerGateway(database);
        var store = new CharacterStore(gateway, memory);

        var created = await store.InsertAsync(Character("Created Here", CharacterVisibility.Public), card: null, Ct);
        Assert.False(await IsPendingAsync(database, created.Id));

        // A replica of an earlier release inserts without the column: the default marks it, and each of
        // this release's writes of a character (update, a chat-count fold, delete) clears it.
        var updated = Character("Updated Later", CharacterVisibility.Public);
        var folded = Character("Folded Later", CharacterVisibility.Public);
        var deleted = Character("Deleted Later", CharacterVisibility.Public);
        await database.WriteAsync([.. new[] { updated, folded, deleted }.Select(InsertAsAnEarlierReleaseWould)], Ct);
        Assert.True(await IsPendingAsync(database, updated.Id));

        await store.UpdateAsync(updated.Id, current => current! with { Tags = ["Fresh"] }, Ct);
        await database.WriteAsync([SpannerMutation.InsertOrUpdate("CharacterChatCounts").Set("CharacterId", folded.Id).Set("Shard", 3L).Set("ChatCount", 2L)], Ct);
        Assert.True(await CharacterChatCounts.FoldAsync(gateway, folded.Id, Ct));
        await store.DeleteAsync(deleted.Id, _ => { }, Ct);

        foreach (var id in new[] { updated.Id, folded.Id, deleted.Id })
        {
            Assert.False(await IsPendingAsync(database, id), id);
        }

        Assert.Equal(0, await PendingCountAsync(database));
        Assert.Empty(await CatalogConsistency.CheckAsync(database, Ct));
    }

    [Fact]
    public async Task ALeaseAnotherReplicaHolds_IsLeftAlone_UntilItLapses()
    {
        await using var database = await DatabaseAsync(SchemaScript.LoadAll());
        // Ids in partitions 3, c and f (the last, which runs to the end of the key space).
        var pending = new[] { "3", "c", "f" }.Select(first => Character($"Waiting {first}", CharacterVisibility.Public) with { Id = first + Guid.NewGuid().ToString()[1..] }).ToList();
        await database.WriteAsync(pending.Select(InsertAsAnEarlierReleaseWould), Ct);
        await SetLeaseAsync(database, 0xc, "replica-elsewhere", DateTimeOffset.UtcNow.AddMinutes(5), done: 7);

        // Partition c is another replica's: its character waits; the other two are catalogued.
        Assert.Equal(2, await Backfill(database, "replica-a").RunOnceAsync(Ct));
        Assert.Equal(1, await PendingCountAsync(database));
        Assert.Equal(1L, (await LeaseAsync(database, 0x3)).Done);
        Assert.Equal(1L, (await LeaseAsync(database, 0xf)).Done);

        // Its holder stopped renewing it (killed mid-run): once it lapses, the next round takes the partition
        // over and carries on from what is still marked.
        await SetLeaseAsync(database, 0xc, "replica-elsewhere", DateTimeOffset.UtcNow.AddSeconds(-1), done: 7);
        Assert.Equal(1, await Backfill(database, "replica-a").RunOnceAsync(Ct));
        Assert.Equal(0, await PendingCountAsync(database));
        var taken = await LeaseAsync(database, 0xc);
        Assert.Equal(("replica-a", 8L), (taken.Owner, taken.Done));
    }

    [Fact]
    public async Task TwoReplicasAtOnce_CatalogEachCharacterOnce_SharingThePartitions()
    {
        await using var database = await DatabaseAsync(SchemaScript.LoadAll());
        var pending = Enumerable.Range(0, 230).Select(i => Character($"Crowd {i}", (CharacterVisibility)(1 + (i % 3)), "crowd")).ToList();
        await database.WriteAsync(pending.Select(InsertAsAnEarlierReleaseWould), Ct);

        var runs = await Task.WhenAll(Backfill(database, "replica-a").RunOnceAsync(Ct), Backfill(database, "replica-b").RunOnceAsync(Ct));

        // Each partition was worked by whoever got its lease; every character was catalogued by one commit.
        Assert.Equal(230, runs.Sum());
        Assert.Equal(230L, (await LeasesAsync(database)).Sum(l => l.Done));
        Assert.Equal(0, await PendingCountAsync(database));
        Assert.Empty(await CatalogConsistency.CheckAsync(database, Ct));
    }

    [Fact]
    public void Pack_KeepsEachCommitWithinTheMutationBudget_AndAlwaysTakesOne()
    {
        var widest = Character(new string('w', 40), CharacterVisibility.Public) with
        {
            Tags = [.. Enumerable.Range(0, CharacterLimits.MaxTags).Select(i => $"{(char)('a' + (i % 26))}{i:D2} {new string('t', CharacterLimits.MaxTagLength - 4)}")],
        };
        var widestRows = CatalogEntries.Mutations(before: null, after: widest);
        Assert.Equal(2 * CharacterSearch.MaxTerms, widestRows.Count);
        Assert.True((widestRows.Count * CatalogBackfill.MutationsPerRow) + 3 <= CatalogBackfill.MutationBudget);

        var small = Enumerable.Range(0, 60).Select(i => Character($"Small {i}", CharacterVisibility.Public)).ToList();
        var candidates = new[] { widest }.Concat(small).Select(c => (c, CatalogEntries.Mutations(before: null, after: c))).ToList();

        var first = CatalogBackfill.Pack(candidates);
        Assert.Equal(widest.Id, first[0].Character.Id);
        Assert.InRange(first.Sum(c => (c.Rows.Count * CatalogBackfill.MutationsPerRow) + 3), 1, CatalogBackfill.MutationBudget);
        Assert.True(first.Count < candidates.Count);

        var rest = CatalogBackfill.Pack(candidates[first.Count..]);
        Assert.Equal(candidates.Count - first.Count, rest.Count);
    }

    [Fact]
    public async Task AVersionWhoseDdlWasAppliedButNotRecorded_IsAppliedAgain_WithoutItsAltersFailing()
    {
        // Every version's DDL is in place (ALTER TABLE … ADD COLUMN and ADD ROW DELETION POLICY among it), but
        // SchemaMigrations records none: the replica that applied them stopped before recording them.
        var scripts = SchemaScript.LoadAll();
        await using var database = await DatabaseAsync(scripts);
        Assert.Contains(scripts.SelectMany(s => s.Statements), s => s.Contains("ADD COLUMN", StringComparison.OrdinalIgnoreCase));

        var options = emulator.Options(DatabaseId(database));
        var spanner = new SpannerOptions
        {
            EmulatorHost = options.EmulatorHost!, ProjectId = options.ProjectId, InstanceId = options.InstanceId, DatabaseId = options.DatabaseId,
            SchemaWaitOnStart = TimeSpan.FromMinutes(2),
        };
        var migrator = new SchemaMigrator(
            Options.Create(spanner), database, TimeProvider.System,
            new global::ChatService.Resilience.RetryPolicyFactory(TimeProvider.System, Options.Create(new Polly.Telemetry.TelemetryOptions())),
            NullLogger<SchemaMigrator>.Instance);
        await migrator.StartAsync(Ct);
        try
        {
            await migrator.Ready.WaitAsync(TimeSpan.FromMinutes(2), Ct);
            Assert.Null(migrator.LastError);
        }
        finally
        {
            await migrator.StopAsync(Ct);
        }

        var recorded = await database.QueryListAsync(new SpannerStatement("SELECT Version FROM SchemaMigrations ORDER BY Version"), cancellationToken: Ct);
        Assert.Equal(scripts.Select(s => s.Version), recorded.Select(r => r.Get<long>(0)));
    }

    [Fact]
    public void AlterStatements_AreKnownAsApplied_OnlyWhenTheTableHasTheColumnOrPolicy()
    {
        string[] ddl =
        [
            "CREATE TABLE Characters (\n  CharacterId STRING(36) NOT NULL,\n  CatalogPending BOOL DEFAULT (TRUE),\n) PRIMARY KEY(CharacterId)",
            "CREATE TABLE Turns (\n  ChatId STRING(36) NOT NULL,\n  HiddenTime TIMESTAMP,\n) PRIMARY KEY(ChatId),\n  ROW DELETION POLICY (OLDER_THAN(HiddenTime, INTERVAL 30 DAY))",
            "CREATE INDEX CharactersByCatalogPending ON Characters(CatalogPending)",
        ];
        Assert.True(SchemaMigrator.AlreadyAltered("ALTER TABLE Characters ADD COLUMN CatalogPending BOOL DEFAULT (TRUE)", ddl));
        Assert.False(SchemaMigrator.AlreadyAltered("ALTER TABLE Characters ADD COLUMN Catalog BOOL", ddl));
        Assert.False(SchemaMigrator.AlreadyAltered("ALTER TABLE Characters ADD COLUMN ChatCount INT64", ddl));
        Assert.False(SchemaMigrator.AlreadyAltered("ALTER TABLE Chats ADD COLUMN PinnedSeqs ARRAY<INT64>", ddl));
        Assert.True(SchemaMigrator.AlreadyAltered("ALTER TABLE Turns ADD ROW DELETION POLICY (OLDER_THAN(HiddenTime, INTERVAL 30 DAY))", ddl));
        Assert.False(SchemaMigrator.AlreadyAltered("ALTER TABLE Characters ADD ROW DELETION POLICY (OLDER_THAN(X, INTERVAL 1 DAY))", ddl));
        Assert.False(SchemaMigrator.AlreadyAltered("ALTER TABLE Characters ALTER COLUMN CatalogPending BOOL", ddl));
    }

    /// <summary>A Characters row as the release before the catalog wrote it: its columns only, no catalog rows.</summary>
    internal static SpannerMutation InsertAsAnEarlierReleaseWould(Character c) => SpannerMutation.Insert("Characters")
        .Set("CharacterId", c.Id).Set("OwnerUserId", c.OwnerUserId).Set("DisplayName", c.DisplayName).Set("Persona", c.Persona)
        .Set("ModelRoute", c.ModelRoute).Set("Visibility", (long)c.Visibility).Set("CreateTime", SpannerCommitTimestamp.Value);

    private static CatalogBackfill Backfill(SpannerDatabaseClient database, string replica) => new(
        new SpannerGateway(database),
        Options.Create(new ChatOptions { ReplicaId = replica }),
        TimeProvider.System,
        NullLogger<CatalogBackfill>.Instance);

    private static Character Character(string name, CharacterVisibility visibility, params string[] tags) =>
        new(Ids.New(), Owner, name, $"{name} answers in character.", Greeting: null, "default", visibility, default) { Tags = tags };

    private async Task<SpannerDatabaseClient> DatabaseAsync(IReadOnlyList<SchemaScript> scripts)
    {
        var databaseId = await emulator.CreateDatabaseAsync(nameof(CatalogBackfillTests), [.. scripts.SelectMany(s => s.Statements)]);
        return SpannerDatabaseClient.Create(emulator.Options(databaseId));
    }

    private static string DatabaseId(SpannerDatabaseClient database) => database.DatabasePath[(database.DatabasePath.LastIndexOf('/') + 1)..];

    private static async Task<long> PendingCountAsync(SpannerDatabaseClient database) =>
        (await database.QueryListAsync(new SpannerStatement("SELECT COUNT(*) FROM Characters WHERE CatalogPending = TRUE"), cancellationToken: Ct))[0].Get<long>(0);

    private static async Task<bool> IsPendingAsync(SpannerDatabaseClient database, string id) =>
        (await database.QueryListAsync(new SpannerStatement("SELECT CatalogPending FROM Characters WHERE CharacterId = @id").Add("id", id), cancellationToken: Ct))[0]
            .Get<bool?>("CatalogPending") == true;

    private static async Task<CatalogBackfill.JobLease> LeaseAsync(SpannerDatabaseClient database, int partition) =>
        Assert.Single(await LeasesAsync(database, CatalogBackfill.LeaseName(partition)));

    private static async Task<List<CatalogBackfill.JobLease>> LeasesAsync(SpannerDatabaseClient database, string? job = null) =>
        (await database.QueryListAsync(
            new SpannerStatement("SELECT Owner, ExpireTime, Done FROM JobLeases WHERE STARTS_WITH(Job, @job)").Add("job", job ?? CatalogBackfill.JobName + "/"),
            cancellationToken: Ct))
        .Select(row => new CatalogBackfill.JobLease(row.Get<string>("Owner"), row.Get<DateTimeOffset>("ExpireTime"), row.Get<long>("Done")))
        .ToList();

    private static Task SetLeaseAsync(SpannerDatabaseClient database, int partition, string owner, DateTimeOffset expireTime, long done) =>
        database.WriteAsync([SpannerMutation.InsertOrUpdate("JobLeases").Set("Job", CatalogBackfill.LeaseName(partition)).Set("Owner", owner)
            .Set("ExpireTime", expireTime).Set("Done", done).Set("UpdateTime", SpannerCommitTimestamp.Value)], Ct);
}
