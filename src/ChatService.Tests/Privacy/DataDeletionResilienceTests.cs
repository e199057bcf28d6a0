using System.Security.Cryptography;
using System.Text;
using ChatService.Api.V1;
using ChatOptions = ChatService.Chats.ChatOptions;
using StorageErrorKind = ChatService.Chats.StorageErrorKind;
using StorageException = ChatService.Chats.StorageException;
using ChatService.Privacy;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Spanner.Client;
using DeletionStore = ChatService.Storage.DataDeletionStore;

namespace ChatService.Tests.Privacy;

/// <summary>
/// DeleteMyData under trouble, on the real stack: a batch slower than the lease keeps it (renewed in the
/// background, each renewal counted, and released when the deletion finished); a lease taken over mid-run
/// stops the run, which the caller's request takes up again once that lease ran out; a deletion that fails
/// every time backs off exponentially up to its maximum, shows its failures in GetDataDeletion and a metric,
/// and finishes once the cause is gone; a batch Spanner refuses for its mutations is halved; interrupted
/// forks of the user's chats go with them; lorebook and character batches see writes made between their
/// listing and their commit; a commit rerun after an abort commits only what its last run built (skipped
/// when the emulator never aborted it); record keys are an HMAC under the configured secret, and records
/// under the old plain hash are still found and re-keyed.
/// </summary>
public sealed class DataDeletionResilienceTests(DeletionFaultsFixture fixture) : ApiTestBase(fixture), IClassFixture<DeletionFaultsFixture>
{
    private readonly DeletionFaultsFixture _fixture = fixture;

    private DeletionStore Store => Fixture.Service<DeletionStore>();

    [Fact]
    public async Task ABatchSlowerThanTheLease_KeepsTheLease_AndTheFinishedRecordHoldsNoLease()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        await CreateChatAsync(user, character);
        var key = Store.UserKeyOf(user);
        DataDeletionRecordProbe? during = null;
        _fixture.Batches.On(key, async (batch, ct) =>
        {
            if (batch.Kind != "chat" || during is not null)
            {
                return;
            }

            // Two and a half leases inside one batch: without renewals the lease would have run out twice.
            await Task.Delay(DeletionFaultsFixture.Lease * 2.5, ct);
            var intruder = await Store.ClaimExpiredAsync(key, "another-replica", DeletionFaultsFixture.Lease, ct);
            var row = await Store.GetAsync(user, ct);
            during = new DataDeletionRecordProbe(intruder is null, row!.Owner, row.LeaseUntil, DateTimeOffset.UtcNow);
        });

        using var counters = new DeletionCounters();
        var done = await Fixture.Client(user).DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "slow" }, cancellationToken: Ct);

        Assert.Equal(DataDeletionState.Done, done.State);
        Assert.Equal(1, done.ChatsDeleted);
        // The keeper renews every third of the lease: seven and a half thirds in the slow batch make at least
        // two renewals, counted on the meter operators read. The meter is the process's, so other classes'
        // deletions may add to it: this is a lower bound (it fails when renewals go uncounted, not when counted twice).
        Assert.True(counters["chat.data_deletion.lease_renewals"] >= 2, $"{counters["chat.data_deletion.lease_renewals"]} renewals counted during a batch of two and a half leases");
        Assert.NotNull(during);
        Assert.True(during.IntruderRefused, "another replica could take the deletion over in the middle of a slow batch");
        Assert.Equal(Fixture.Service<Microsoft.Extensions.Options.IOptions<ChatOptions>>().Value.ReplicaId, during.Owner);
        // Read when the probe ran (not after the call returned): two and a half leases after the batch began,
        // so the lease it started with had long run out; only renewals put it past that moment.
        Assert.True(during.LeaseUntil > during.ReadAt, $"the lease was not renewed during the batch: it ran until {during.LeaseUntil:O}, read at {during.ReadAt:O}");

        // Released: the finished record has no owner and no lease for a sweep to find.
        var finished = await Store.GetAsync(user, Ct);
        Assert.Equal((ChatService.Storage.DataDeletionState.Done, (DateTimeOffset?)null, (string?)null), (finished!.State, finished.LeaseUntil, finished.Owner));
    }

    [Fact]
    public async Task ADeletionFailingEveryTime_BacksOffExponentially_ShowsItsFailures_AndFinishesOnceTheCauseIsGone()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        await CreateChatAsync(user, character);
        var key = Store.UserKeyOf(user);
        var attempts = new List<DateTimeOffset>();
        var failing = true;
        _fixture.Batches.On(key, (batch, _) =>
        {
            lock (attempts)
            {
                if (failing)
                {
                    attempts.Add(DateTimeOffset.UtcNow);
                    throw new InvalidOperationException("injected failure");
                }
            }

            return Task.CompletedTask;
        });
        using var counters = new DeletionCounters();
        // The caller's run fails, which is not the caller's error: the call returns the deletion as stored,
        // running, backing off, for the sweep to retry; the error shows as its category only.
        var first = await Fixture.Client(user).DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "flaky" }, cancellationToken: Ct);
        Assert.Equal((DataDeletionState.Running, "flaky", 1L, "internal"), (first.State, first.RequestId, first.FailedAttempts, first.LastError));
        Assert.NotNull(first.NextAttemptTime);
        Assert.NotNull(first.LastErrorTime);

        DataDeletion seen;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((seen = await Fixture.Client(user).GetDataDeletionAsync(new GetDataDeletionRequest(), cancellationToken: Ct)) is not { FailedAttempts: >= 5, NextAttemptTime: not null })
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {seen.FailedAttempts} failed attempts in 60 s");
            await Task.Delay(50, Ct);
        }

        Assert.Equal(DataDeletionState.Running, seen.State);
        Assert.Equal("internal", seen.LastError);
        // Each failed run is counted for operators; at the maximum backoff (800 ms from the third failure on) as stuck.
        Assert.True(counters["chat.data_deletion.failures"] >= 5, $"{counters["chat.data_deletion.failures"]} failed runs counted, 5 seen");
        Assert.True(counters["chat.data_deletion.failures{stuck=True}"] >= 1, "no failed run was counted as stuck at the maximum backoff");
        Assert.NotNull(seen.LastErrorTime);
        Assert.True(seen.NextAttemptTime.ToDateTimeOffset() > seen.LastErrorTime.ToDateTimeOffset());

        // The table keeps the full text, for operators.
        Assert.Equal(1, await Fixture.CountAsync(
            "SELECT COUNT(*) FROM DataDeletions WHERE UserKey = @k AND STARTS_WITH(LastError, '[internal] InvalidOperationException: injected failure')", ("k", key)));

        // Each attempt waited at least its backoff: 200 ms doubled after each failure, at most 800 ms.
        DateTimeOffset[] times;
        lock (attempts)
        {
            times = [.. attempts];
        }

        // Every failed run failed in the injected batch (five seen above), so there are five attempts to compare.
        Assert.True(times.Length >= 5, $"{times.Length} injected failures recorded for 5 failed runs");
        for (var i = 1; i < 5; i++)
        {
            var wait = DeletionStore.BackoffFor(i, DeletionFaultsFixture.Backoff, DeletionFaultsFixture.MaxBackoff);
            Assert.True(times[i] - times[i - 1] >= wait - TimeSpan.FromMilliseconds(50), $"attempt {i + 1} came {(times[i] - times[i - 1]).TotalMilliseconds} ms after the one before, not after {wait.TotalMilliseconds} ms");
        }

        Assert.Equal(TimeSpan.FromMilliseconds(800), DeletionStore.BackoffFor(40, DeletionFaultsFixture.Backoff, DeletionFaultsFixture.MaxBackoff));

        // Fixed: the next attempt finishes it; the failures in a row start again, the last error stays on record.
        lock (attempts)
        {
            failing = false;
        }

        deadline = DateTime.UtcNow.AddSeconds(60);
        while ((seen = await Fixture.Client(user).GetDataDeletionAsync(new GetDataDeletionRequest(), cancellationToken: Ct)).State != DataDeletionState.Done)
        {
            Assert.True(DateTime.UtcNow < deadline, "the deletion did not finish once its batches stopped failing");
            await Task.Delay(50, Ct);
        }

        Assert.Equal((0L, 1L), (seen.FailedAttempts, seen.ChatsDeleted));
        Assert.Equal("internal", seen.LastError);
        Assert.Null(seen.NextAttemptTime);
    }

    [Fact]
    public async Task ABatchRefusedForItsMutations_IsHalved_UntilItFits()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        await UserDataProbe.SeedChatsAsync(Fixture.Database, user, character.CharacterId, 40, Ct);
        var lorebooks = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            lorebooks.Add((await Fixture.Client(user).CreateLorebookAsync(new CreateLorebookRequest
            {
                Lorebook = new Lorebook { Name = $"book {i}", Entries = { new LoreEntry { Keys = { "k" }, Content = "c" } } },
            }, cancellationToken: Ct)).LorebookId);
        }

        var key = Store.UserKeyOf(user);
        var committed = new List<DeletionBatch>();
        var refused = new List<DeletionBatch>();
        _fixture.Batches.On(key, (batch, _) =>
        {
            // As Spanner refuses a commit over its limit: more than 5 chats, or more than one lorebook, at once.
            if ((batch.Kind == "chat" && batch.Items > 5) || (batch.Kind == "lorebook" && batch.Items > 1))
            {
                lock (refused)
                {
                    refused.Add(batch);
                }

                throw new StorageException(StorageErrorKind.Rejected, "InvalidArgument",
                    "InvalidArgument: The transaction contains too many mutations. Insert and update operations count with the multiplicity of the number of columns they affect.");
            }

            lock (committed)
            {
                committed.Add(batch);
            }

            return Task.CompletedTask;
        });

        var done = await Fixture.Client(user).DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "halve" }, cancellationToken: Ct);

        Assert.Equal((DataDeletionState.Done, 40L, 4L, 0L), (done.State, done.ChatsDeleted, done.LorebooksDeleted, done.FailedAttempts));
        Assert.Contains(refused, b => b.Kind == "chat");
        Assert.Contains(refused, b => b.Kind == "lorebook");
        Assert.All(committed.Where(b => b.Kind == "chat"), b => Assert.InRange(b.Items, 1, 5));
        Assert.Equal(4, committed.Count(b => b.Kind == "lorebook"));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Chats WHERE UserId = @u", ("u", user)));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Lorebooks WHERE LorebookId IN UNNEST(@ids)", ("ids", lorebooks)));
    }

    [Fact]
    public async Task ARefusalOfABatchThatCannotBeSplit_IsNotHalvedForEver_ItFailsAndBacksOff()
    {
        var user = TestUsers.New();
        await Fixture.Client(user).CreatePersonaAsync(new CreatePersonaRequest { Name = "Me", Description = "Someone." }, cancellationToken: Ct);
        var key = Store.UserKeyOf(user);
        var refusals = 0;
        _fixture.Batches.On(key, (batch, _) =>
        {
            if (batch.Kind == "persona" && Volatile.Read(ref refusals) < 3)
            {
                Interlocked.Increment(ref refusals);
                throw new StorageException(StorageErrorKind.Rejected, "InvalidArgument", "InvalidArgument: The transaction contains too many mutations.");
            }

            return Task.CompletedTask;
        });

        // The run fails (the personas' range deletions cannot be split); the caller gets the deletion as stored.
        var first = await Fixture.Client(user).DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "one" }, cancellationToken: Ct);
        Assert.Equal((DataDeletionState.Running, 1L, "mutation_limit"), (first.State, first.FailedAttempts, first.LastError));
        Assert.NotNull(first.NextAttemptTime);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        DataDeletion seen;
        while ((seen = await Fixture.Client(user).GetDataDeletionAsync(new GetDataDeletionRequest(), cancellationToken: Ct)).State != DataDeletionState.Done)
        {
            Assert.True(DateTime.UtcNow < deadline, "the deletion did not finish once the refusals stopped");
            await Task.Delay(50, Ct);
        }

        Assert.Equal(3, refusals);
        Assert.Equal("mutation_limit", seen.LastError);
        Assert.Equal(1, seen.PersonasDeleted);
    }

    [Fact]
    public async Task InterruptedForksOfTheUsersChats_AreDeleted_AndNoOtherUsersFork()
    {
        var user = TestUsers.New();
        var other = TestUsers.New();
        var character = await CreateCharacterAsync(user, visibility: Visibility.Public);
        var chat = await CreateChatAsync(user, character);
        var theirChat = await CreateChatAsync(other, character);
        // What a ForkChat stopped after its first commit leaves: a chat owned by nobody, forked from the source, with some turns copied.
        var myFork = await OwnerlessChats.SeedAsync(Fixture.Database, character.CharacterId, Ct, forkedFrom: chat.ChatId, turns: 2);
        var theirFork = await OwnerlessChats.SeedAsync(Fixture.Database, character.CharacterId, Ct, forkedFrom: theirChat.ChatId, turns: 2);

        var done = await Fixture.Client(user).DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "forks" }, cancellationToken: Ct);

        Assert.Equal((DataDeletionState.Done, 2L), (done.State, done.ChatsDeleted));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Chats WHERE ChatId = @c", ("c", myFork)));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c", ("c", myFork)));
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM Chats WHERE ChatId = @c AND UserId = ''", ("c", theirFork)));
        Assert.Equal(2, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c", ("c", theirFork)));
        Assert.Equal(theirChat.ChatId, (await Fixture.Client(other).GetChatAsync(new GetChatRequest { ChatId = theirChat.ChatId }, cancellationToken: Ct)).ChatId);
    }

    [Fact]
    public async Task WritesBetweenABatchsListingAndItsCommit_AreDeletedToo()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var character = await client.CreateCharacterAsync(new CreateCharacterRequest
        {
            DisplayName = "Ada", Persona = "A mathematician.", Greeting = "Hello!", Visibility = Visibility.Public, Tags = { "maths" },
        }, cancellationToken: Ct);
        var book = await client.CreateLorebookAsync(new CreateLorebookRequest
        {
            Lorebook = new Lorebook { Name = "Places", Entries = { new LoreEntry { Keys = { "garden" }, Content = "A garden." } } },
        }, cancellationToken: Ct);
        var key = Store.UserKeyOf(user);
        string? lateChat = null;
        var interleaved = new HashSet<string>(StringComparer.Ordinal);
        _fixture.Batches.On(key, async (batch, ct) =>
        {
            if (!interleaved.Add(batch.Kind))
            {
                return;
            }

            if (batch.Kind == "lorebook")
            {
                // The user attaches the listed lorebook to a chat made after the chats were deleted.
                lateChat = (await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } }, cancellationToken: ct)).ChatId;
                await client.AttachLorebookAsync(new AttachLorebookRequest { ChatId = lateChat, LorebookId = book.LorebookId }, cancellationToken: ct);
            }
            else if (batch.Kind == "character")
            {
                // The author gives the listed character new tags (new catalog rows) before the scrub commits.
                await client.UpdateCharacterAsync(new UpdateCharacterRequest
                {
                    Character = new Character { CharacterId = character.CharacterId, Tags = { "maths", "chess", "puzzles" } },
                    UpdateMask = new FieldMask { Paths = { "tags" } },
                }, cancellationToken: ct);
            }
        });
        Assert.True(await Fixture.CountAsync("SELECT COUNT(*) FROM CatalogTerms WHERE CharacterId = @c", ("c", character.CharacterId)) > 0);

        var done = await client.DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "interleaved" }, cancellationToken: Ct);

        Assert.Equal((DataDeletionState.Done, 1L, 1L), (done.State, done.LorebooksDeleted, done.CharactersDeleted));
        Assert.NotNull(lateChat);
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM ChatLorebooks WHERE LorebookId = @b", ("b", book.LorebookId)));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM CatalogTerms WHERE CharacterId = @c", ("c", character.CharacterId)));
        Assert.Equal(1, await Fixture.CountAsync(
            "SELECT COUNT(*) FROM Characters WHERE CharacterId = @c AND OwnerUserId = '' AND Tags IS NULL AND DeleteTime IS NOT NULL", ("c", character.CharacterId)));
    }

    [Fact]
    public async Task RecordKeys_AreAnHmacUnderTheSecret_AndRecordsUnderTheOldPlainHashAreFoundAndReKeyed()
    {
        var user = TestUsers.New();
        await Fixture.Client(user).DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "k1" }, cancellationToken: Ct);
        var hmac = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(DeletionFaultsFixture.Secret), Encoding.UTF8.GetBytes(user)));
        var plain = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(user)));
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM DataDeletions WHERE UserKey = @k AND UserId IS NULL AND State = 2", ("k", hmac)));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM DataDeletions WHERE UserKey = @k", ("k", plain)));

        // A deletion finished before schema version 19 (under the plain hash) is still the user's latest, and a
        // repeat of its request returns it.
        var before = TestUsers.New();
        var beforeKey = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(before)));
        await Fixture.Database.WriteAsync([LegacyRow(beforeKey, null, "old", 2, chats: 7)], Ct);
        var found = await Fixture.Client(before).GetDataDeletionAsync(new GetDataDeletionRequest(), cancellationToken: Ct);
        Assert.Equal((DataDeletionState.Done, "old", 7L), (found.State, found.RequestId, found.ChatsDeleted));
        Assert.Equal(found, await Fixture.Client(before).DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "old" }, cancellationToken: Ct));

        // One running under the plain hash (its replica died) is moved under the new key by the user's next
        // request, with its progress, and finished; the old row is gone.
        var running = TestUsers.New();
        var runningKey = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(running)));
        var character = await CreateCharacterAsync(running);
        await CreateChatAsync(running, character);
        // Written backing off after a failed run (no owner, its next attempt 2 s away): the sweep, which takes
        // up only deletions whose LeaseUntil passed, leaves it alone until then, so the request below is the
        // one that finds it under the old key (it would race the 100 ms sweep for a row whose lease ran out).
        // The re-key keeps its backoff: nothing runs it before its next attempt is due.
        var retryAt = DateTimeOffset.UtcNow.AddSeconds(2);
        await Fixture.Database.WriteAsync([LegacyRow(runningKey, running, "was-running", 1, chats: 3, owner: null, leaseUntil: retryAt, failedAttempts: 1)], Ct);
        var moved = await Fixture.Client(running).DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "again" }, cancellationToken: Ct);
        Assert.Equal((DataDeletionState.Done, "was-running", 4L), (moved.State, moved.RequestId, moved.ChatsDeleted));
        Assert.True(moved.FinishTime.ToDateTimeOffset() >= retryAt, $"finished at {moved.FinishTime.ToDateTimeOffset():O}, before its backoff ended at {retryAt:O}");
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM DataDeletions WHERE UserKey = @k", ("k", runningKey)));
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM DataDeletions WHERE UserKey = @k AND State = 2", ("k", Store.UserKeyOf(running))));
    }

    [Fact]
    public async Task ALostLease_StopsTheRun_AndTheCallersRequestFinishesItOnceThatLeaseRanOut_NotAnError()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        await CreateChatAsync(user, character);
        var key = Store.UserKeyOf(user);
        var chatBatches = 0;
        DateTimeOffset? intruderUntil = null;
        _fixture.Batches.On(key, async (batch, ct) =>
        {
            if (batch.Kind == "chat" && Interlocked.Increment(ref chatBatches) == 1)
            {
                // Another replica takes the deletion over (as after this one stalled past its lease), for a second.
                intruderUntil = DateTimeOffset.UtcNow.AddSeconds(1);
                await Fixture.Database.WriteAsync(
                    [SpannerMutation.Update("DataDeletions").Set("UserKey", key).Set("Owner", "another-replica").Set("LeaseUntil", intruderUntil.Value)], ct);
            }
        });

        using var counters = new DeletionCounters();
        var result = await Fixture.Client(user).DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "lost" }, cancellationToken: Ct);

        // The run that lost the lease committed nothing more (its batch's commit, or a renewal, found the lease
        // another's): the chat was listed again by the run that took the deletion up after the other's lease
        // ran out, and only that one deleted it. The caller waited for it, and got no error.
        Assert.Equal((DataDeletionState.Done, "lost", 1L, 0L), (result.State, result.RequestId, result.ChatsDeleted, result.FailedAttempts));
        Assert.Equal(2, Volatile.Read(ref chatBatches));
        Assert.True(counters["chat.data_deletion.runs{outcome=lease_lost}"] >= 1, "no run ended as lease_lost");
        Assert.True(result.FinishTime.ToDateTimeOffset() >= intruderUntil, $"finished at {result.FinishTime.ToDateTimeOffset():O}, while another replica held it until {intruderUntil:O}");
    }

    [Fact]
    public async Task AOneChatBatchRefusedForItsMutations_IsHalved_ThenDeletedAFewTurnsAtATime()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var chatId = await SeedChatAsync(user, character.CharacterId, turns: 10);
        var key = Store.UserKeyOf(user);
        var kinds = new List<DeletionBatch>();
        var refused = 0;
        _fixture.Batches.On(key, (batch, _) =>
        {
            lock (kinds)
            {
                kinds.Add(batch);
            }

            // As Spanner would refuse this chat's deletion in one commit (its estimate, 43, was too low).
            if (batch.Kind == "chat" && batch.Cost > 20)
            {
                Interlocked.Increment(ref refused);
                throw new StorageException(StorageErrorKind.Rejected, "InvalidArgument", "InvalidArgument: The transaction contains too many mutations.");
            }

            return Task.CompletedTask;
        });

        var done = await Fixture.Client(user).DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "big-one" }, cancellationToken: Ct);

        Assert.Equal((DataDeletionState.Done, 1L, 0L), (done.State, done.ChatsDeleted, done.FailedAttempts));
        // Every chat batch but the last was refused (each time at half the budget before), then turns went a
        // budget at a time, and the chat was deleted once what was left of it fitted.
        var chats = kinds.Where(b => b.Kind == "chat").ToList();
        Assert.True(refused > 0);
        Assert.Equal(chats.Count - 1, refused);
        Assert.True(chats[^1].Cost <= 20, $"the chat was deleted as a batch of cost {chats[^1].Cost}");
        var lastRefused = kinds.FindLastIndex(b => b is { Kind: "chat" } && b.Cost > 20);
        Assert.Contains(kinds.Skip(lastRefused + 1).TakeWhile(b => b.Kind != "chat"), b => b.Kind == "turn");
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c", ("c", chatId)));
    }

    [Fact]
    public async Task AForkStartedBetweenAChatBatchsListingAndItsCommit_IsDeletedWithItsSource()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var chat = await CreateChatAsync(user, character);
        var key = Store.UserKeyOf(user);
        string? lateFork = null;
        _fixture.Batches.On(key, async (batch, _) =>
        {
            if (batch.Kind == "chat" && lateFork is null)
            {
                // ForkChat's first commit, after the batch was listed (so the listing did not see it).
                lateFork = await OwnerlessChats.SeedAsync(Fixture.Database, character.CharacterId, Ct, forkedFrom: chat.ChatId, turns: 2);
            }
        });

        var done = await Fixture.Client(user).DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "late-fork" }, cancellationToken: Ct);

        Assert.Equal(DataDeletionState.Done, done.State);
        Assert.NotNull(lateFork);
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Chats WHERE ChatId = @c", ("c", lateFork)));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c", ("c", lateFork)));
    }

    [Fact]
    public async Task ACommitRerunAfterAnAbort_CommitsOnlyWhatItsLastRunBuilt()
    {
        // Whether the emulator aborts the first run (rather than making the conflicting write wait) is its
        // choice, so the scenario is tried until a rerun happened (at most ten times, else the test is skipped);
        // every try must commit only what its last run built, whichever way it went.
        var reran = false;
        for (var attempt = 0; attempt < 10 && !reran; attempt++)
        {
            var user = TestUsers.New();
            var key = Store.UserKeyOf(user);
            await Fixture.Database.WriteAsync([LegacyRow(key, user, "abort", 1, chats: 0, owner: "test-owner", leaseUntil: DateTimeOffset.UtcNow.AddMinutes(5))], Ct);
            var stale = "stale-" + Guid.NewGuid().ToString("N");
            var last = "last-" + Guid.NewGuid().ToString("N");
            var runs = 0;
            Task? conflicting = null;

            await Store.CommitBatchAsync(key, "test-owner", TimeSpan.FromMinutes(5), [], default, [], Ct, build: async (_, ct) =>
            {
                // The first run's mutations are built while another transaction writes the record this one read:
                // its commit aborts, and the rerun builds again; only what the last run built may commit.
                if (Interlocked.Increment(ref runs) == 1)
                {
                    conflicting = Fixture.Database.WriteAsync([SpannerMutation.Update("DataDeletions").Set("UserKey", key).Set("RequestId", "conflict")], ct);
                    await Task.WhenAny(conflicting, Task.Delay(TimeSpan.FromSeconds(1), ct));
                    return [MarkerRow(stale)];
                }

                return [MarkerRow(last)];
            });
            if (conflicting is not null)
            {
                await conflicting;
            }

            reran = runs >= 2;
            Assert.Equal(reran ? 0 : 1, await Fixture.CountAsync("SELECT COUNT(*) FROM DataDeletions WHERE UserKey = @k", ("k", stale)));
            Assert.Equal(reran ? 1 : 0, await Fixture.CountAsync("SELECT COUNT(*) FROM DataDeletions WHERE UserKey = @k", ("k", last)));
        }

        // Ten tries without an abort leave the rerun unexercised: the test then ends skipped, not passed (the
        // tries still checked that what their single run built committed).
        Assert.SkipUnless(reran, "the emulator never aborted the first run in ten tries, so no rerun was exercised");
    }

    private static SpannerMutation LegacyRow(
        string key, string? userId, string requestId, long state, long chats, string? owner = "a-dead-replica", DateTimeOffset? leaseUntil = null, long failedAttempts = 0) =>
        SpannerMutation.Insert("DataDeletions")
        .Set("UserKey", key).Set("UserId", userId).Set("RequestId", requestId).Set("State", state)
        .Set("Owner", state == 1 ? owner : null).Set("LeaseUntil", state == 1 ? leaseUntil ?? DateTimeOffset.UtcNow.AddMinutes(-1) : null)
        .Set("FailedAttempts", failedAttempts)
        .Set("ChatsDeleted", chats).Set("CharactersDeleted", 0L).Set("PersonasDeleted", 0L).Set("LorebooksDeleted", 0L)
        .Set("CreateTime", SpannerCommitTimestamp.Value).Set("UpdateTime", SpannerCommitTimestamp.Value)
        .Set("FinishTime", state == 2 ? SpannerCommitTimestamp.Value : null);

    /// <summary>A finished deletion's row under <paramref name="key"/>: a marker a test's commit writes.</summary>
    private static SpannerMutation MarkerRow(string key) => LegacyRow(key, null, "marker", 2, chats: 0);

    /// <summary>A chat of <paramref name="userId"/>'s with <paramref name="turns"/> turns.</summary>
    private async Task<string> SeedChatAsync(string userId, string characterId, int turns)
    {
        var chatId = Guid.NewGuid().ToString();
        List<SpannerMutation> rows =
        [
            SpannerMutation.Insert("Chats")
                .Set("ChatId", chatId).Set("UserId", userId).Set("Title", "long").Set("CharacterIds", new List<string> { characterId })
                .Set("NextSeq", (long)turns).Set("RotationCursor", 0L).Set("LastMessagePreview", "")
                .Set("CreateTime", SpannerCommitTimestamp.Value).Set("LastActiveTime", SpannerCommitTimestamp.Value),
        ];
        for (var seq = 1; seq <= turns; seq++)
        {
            rows.Add(SpannerMutation.Insert("Turns")
                .Set("ChatId", chatId).Set("Seq", (long)seq).Set("AuthorRole", 1L).Set("Text", $"turn {seq}").Set("CandidateCount", 0L)
                .Set("CreateTime", SpannerCommitTimestamp.Value).Set("UpdateTime", SpannerCommitTimestamp.Value));
        }

        await Fixture.Database.WriteAsync(rows, Ct);
        return chatId;
    }

    private sealed record DataDeletionRecordProbe(bool IntruderRefused, string? Owner, DateTimeOffset? LeaseUntil, DateTimeOffset ReadAt);
}
