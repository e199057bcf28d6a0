using System.Diagnostics.Metrics;
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
/// background, and not after the deletion finished); a deletion that fails every time backs off
/// exponentially up to its maximum, shows its failures in GetDataDeletion and a metric, and finishes once
/// the cause is gone; a batch Spanner refuses for its mutations is halved; interrupted forks of the user's
/// chats go with them; lorebook and character batches see writes made between their listing and their
/// commit; record keys are an HMAC under the configured secret, and records under the old plain hash are
/// still found and re-keyed.
/// </summary>
public sealed class DataDeletionResilienceTests(DeletionFaultsFixture fixture) : ApiTestBase(fixture), IClassFixture<DeletionFaultsFixture>
{
    private readonly DeletionFaultsFixture _fixture = fixture;

    private DeletionStore Store => Fixture.Service<DeletionStore>();

    [Fact]
    public async Task ABatchSlowerThanTheLease_KeepsTheLease_AndNothingRenewsItAfterTheDeletionFinished()
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
            during = new DataDeletionRecordProbe(intruder is null, row!.Owner, row.LeaseUntil);
        });

        var done = await Fixture.Client(user).DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "slow" }, cancellationToken: Ct);

        Assert.Equal(DataDeletionState.Done, done.State);
        Assert.Equal(1, done.ChatsDeleted);
        Assert.NotNull(during);
        Assert.True(during.IntruderRefused, "another replica could take the deletion over in the middle of a slow batch");
        Assert.Equal(Fixture.Service<Microsoft.Extensions.Options.IOptions<ChatOptions>>().Value.ReplicaId, during.Owner);
        Assert.True(during.LeaseUntil > DateTimeOffset.UtcNow, "the lease was not renewed during the batch");

        // Released for good: no renewal writes the finished record again.
        var finished = await Store.GetAsync(user, Ct);
        await Task.Delay(DeletionFaultsFixture.Lease, Ct);
        var later = await Store.GetAsync(user, Ct);
        Assert.Equal((ChatService.Storage.DataDeletionState.Done, (DateTimeOffset?)null, (string?)null), (later!.State, later.LeaseUntil, later.Owner));
        Assert.Equal(finished!.UpdateTime, later.UpdateTime);
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
        var stuck = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == DataDeletionMetrics.MeterName && instrument.Name == "chat.data_deletion.failures")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "stuck", Value: true })
                {
                    Interlocked.Add(ref stuck, (int)value);
                }
            }
        });
        listener.Start();

        // The caller's run fails (and says so); the deletion stays, backing off, for the sweep to retry.
        await Assert.ThrowsAsync<RpcException>(async () => await Fixture.Client(user).DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "flaky" }, cancellationToken: Ct));

        DataDeletion seen;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((seen = await Fixture.Client(user).GetDataDeletionAsync(new GetDataDeletionRequest(), cancellationToken: Ct)).FailedAttempts < 5)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {seen.FailedAttempts} failed attempts in 60 s");
            await Task.Delay(50, Ct);
        }

        Assert.Equal(DataDeletionState.Running, seen.State);
        Assert.Contains("injected failure", seen.LastError, StringComparison.Ordinal);
        Assert.NotNull(seen.LastErrorTime);
        Assert.NotNull(seen.NextAttemptTime);
        Assert.True(seen.NextAttemptTime.ToDateTimeOffset() > seen.LastErrorTime.ToDateTimeOffset());
        Assert.True(stuck > 0, "no failure was counted as stuck once the backoff reached its maximum");

        // Each attempt waited at least its backoff: 200 ms doubled after each failure, at most 800 ms.
        DateTimeOffset[] times;
        lock (attempts)
        {
            times = [.. attempts];
        }

        for (var i = 1; i < Math.Min(times.Length, 5); i++)
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
        Assert.Contains("injected failure", seen.LastError, StringComparison.Ordinal);
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
    public async Task ARefusalOfABatchOfOne_IsNotHalvedForEver_ItFailsAndBacksOff()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        await CreateChatAsync(user, character);
        var key = Store.UserKeyOf(user);
        var refusals = 0;
        _fixture.Batches.On(key, (batch, _) =>
        {
            if (batch.Kind == "chat" && Volatile.Read(ref refusals) < 3)
            {
                Interlocked.Increment(ref refusals);
                throw new StorageException(StorageErrorKind.Rejected, "InvalidArgument", "InvalidArgument: The transaction contains too many mutations.");
            }

            return Task.CompletedTask;
        });

        await Assert.ThrowsAsync<RpcException>(async () => await Fixture.Client(user).DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "one" }, cancellationToken: Ct));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        DataDeletion seen;
        while ((seen = await Fixture.Client(user).GetDataDeletionAsync(new GetDataDeletionRequest(), cancellationToken: Ct)).State != DataDeletionState.Done)
        {
            Assert.True(DateTime.UtcNow < deadline, "the deletion did not finish once the refusals stopped");
            await Task.Delay(50, Ct);
        }

        Assert.Equal(3, refusals);
        Assert.Contains("too many mutations", seen.LastError, StringComparison.Ordinal);
        Assert.Equal(1, seen.ChatsDeleted);
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
        var myFork = await SeedForkAsync(chat.ChatId, character.CharacterId);
        var theirFork = await SeedForkAsync(theirChat.ChatId, character.CharacterId);

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
        await Fixture.Database.WriteAsync([LegacyRow(runningKey, running, "was-running", 1, chats: 3)], Ct);
        var moved = await Fixture.Client(running).DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "again" }, cancellationToken: Ct);
        Assert.Equal((DataDeletionState.Done, "was-running", 4L), (moved.State, moved.RequestId, moved.ChatsDeleted));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM DataDeletions WHERE UserKey = @k", ("k", runningKey)));
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM DataDeletions WHERE UserKey = @k AND State = 2", ("k", Store.UserKeyOf(running))));
    }

    private static SpannerMutation LegacyRow(string key, string? userId, string requestId, long state, long chats) => SpannerMutation.Insert("DataDeletions")
        .Set("UserKey", key).Set("UserId", userId).Set("RequestId", requestId).Set("State", state)
        .Set("Owner", state == 1 ? "a-dead-replica" : null).Set("LeaseUntil", state == 1 ? DateTimeOffset.UtcNow.AddMinutes(-1) : null)
        .Set("ChatsDeleted", chats).Set("CharactersDeleted", 0L).Set("PersonasDeleted", 0L).Set("LorebooksDeleted", 0L)
        .Set("CreateTime", SpannerCommitTimestamp.Value).Set("UpdateTime", SpannerCommitTimestamp.Value)
        .Set("FinishTime", state == 2 ? SpannerCommitTimestamp.Value : null);

    /// <summary>An ownerless chat forked from <paramref name="sourceChatId"/> with two copied turns, as ForkChat's first commits write it.</summary>
    private async Task<string> SeedForkAsync(string sourceChatId, string characterId)
    {
        var chatId = Guid.NewGuid().ToString();
        await Fixture.Database.WriteAsync(
        [
            SpannerMutation.Insert("Chats")
                .Set("ChatId", chatId).Set("UserId", "").Set("Title", "fork").Set("CharacterIds", new List<string> { characterId })
                .Set("NextSeq", 2L).Set("RotationCursor", 0L).Set("LastMessagePreview", "").Set("ForkedFromChatId", sourceChatId)
                .Set("ForkedFromSeq", 2L).Set("CreateTime", SpannerCommitTimestamp.Value).Set("LastActiveTime", SpannerCommitTimestamp.Value),
            SpannerMutation.Insert("Turns")
                .Set("ChatId", chatId).Set("Seq", 1L).Set("AuthorRole", 1L).Set("Text", "copied").Set("CandidateCount", 0L)
                .Set("CreateTime", SpannerCommitTimestamp.Value).Set("UpdateTime", SpannerCommitTimestamp.Value),
            SpannerMutation.Insert("Turns")
                .Set("ChatId", chatId).Set("Seq", 2L).Set("AuthorRole", 1L).Set("Text", "copied too").Set("CandidateCount", 0L)
                .Set("CreateTime", SpannerCommitTimestamp.Value).Set("UpdateTime", SpannerCommitTimestamp.Value),
        ], Ct);
        return chatId;
    }

    private sealed record DataDeletionRecordProbe(bool IntruderRefused, string? Owner, DateTimeOffset? LeaseUntil);
}
