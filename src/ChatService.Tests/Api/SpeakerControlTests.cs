using ChatService.Api.V1;
using ChatService.Storage;
using CastMember = ChatService.Chats.CastMember;
using ReplyPolicy = ChatService.Chats.ReplyPolicy;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Spanner.Client;
using FieldMask = Google.Protobuf.WellKnownTypes.FieldMask;

namespace ChatService.Tests.Api;

/// <summary>
/// Group speaker control through the API on the real stack: the strategies, muted members, talkativeness,
/// UpdateChat and what each refuses (writing nothing).
/// </summary>
public sealed class SpeakerControlTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    private async Task<Character> MemberAsync(string user, string name, double? talkativeness = null)
    {
        var request = new CreateCharacterRequest { DisplayName = name, Persona = $"{name} talks in a group." };
        if (talkativeness is { } t)
        {
            request.Talkativeness = t;
        }

        return await Fixture.Client(user).CreateCharacterAsync(request, cancellationToken: Ct);
    }

    private async Task<Chat> GroupAsync(string user, SpeakerStrategy strategy, IEnumerable<Character> cast, params Character[] muted) =>
        await Fixture.Client(user).CreateChatAsync(new CreateChatRequest
        {
            CharacterIds = { cast.Select(c => c.CharacterId) },
            SpeakerStrategy = strategy,
            MutedCharacterIds = { muted.Select(c => c.CharacterId) },
        }, cancellationToken: Ct);

    /// <summary>The characters that answer a send, in order (the whole stream is read, so every reply has settled).</summary>
    private async Task<List<string>> SpeakersAsync(string user, string chatId, string text, string requestId = "", params string[] named)
    {
        var events = await SendAsync(user, chatId, text, requestId, named);
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        return [.. events[0].Accepted.PendingTurns.Select(t => t.CharacterId)];
    }

    private async Task<List<string>> ContinueAsync(string user, string chatId, int turns)
    {
        using var call = Fixture.Client(user).ContinueChat(new ContinueChatRequest { ChatId = chatId, Turns = turns }, cancellationToken: Ct);
        var events = new List<ReplyEvent>();
        await foreach (var e in call.ResponseStream.ReadAllAsync(Ct))
        {
            events.Add(e);
        }

        return [.. events[0].Accepted.PendingTurns.Select(t => t.CharacterId)];
    }

    private Task<Chat> UpdateAsync(string user, Chat chat, params string[] paths) =>
        Fixture.Client(user).UpdateChatAsync(new UpdateChatRequest { Chat = chat, UpdateMask = new FieldMask { Paths = { paths } } }, cancellationToken: Ct).ResponseAsync;

    [Fact]
    public async Task Natural_TheCharacterTheMessageNames_AnswersFirst()
    {
        var user = TestUsers.New();
        // Nobody speaks up unasked, so only mentions (and the one-speaker rule) pick.
        var cast = new[] { await MemberAsync(user, "Ada", 0), await MemberAsync(user, "Bruno", 0), await MemberAsync(user, "Cleo", 0) };
        var chat = await GroupAsync(user, SpeakerStrategy.Natural, cast);

        var toBruno = await SpeakersAsync(user, chat.ChatId, "What do you think, bruno?");
        var both = await SpeakersAsync(user, chat.ChatId, "Cleo, then BRUNO: which is it?");
        var nobody = await SpeakersAsync(user, chat.ChatId, "Anyone? (Brunofication is not a name.)");

        Assert.Equal(SpeakerStrategy.Natural, chat.SpeakerStrategy);
        Assert.Equal([cast[1].CharacterId], toBruno);
        Assert.Equal([cast[2].CharacterId, cast[1].CharacterId], both);
        Assert.Single(nobody);
    }

    [Fact]
    public async Task Natural_BTalksFirst_ThenTheOthersByTalkativeness()
    {
        var user = TestUsers.New();
        var cast = new[] { await MemberAsync(user, "Ada", 1), await MemberAsync(user, "Bruno", 0), await MemberAsync(user, "Cleo", 0) };
        var chat = await GroupAsync(user, SpeakerStrategy.Natural, cast);

        // Ada always speaks up (talkativeness 1), after the one named; Cleo never does unasked.
        Assert.Equal([cast[1].CharacterId, cast[0].CharacterId], await SpeakersAsync(user, chat.ChatId, "Bruno, start."));
        Assert.Equal([cast[0].CharacterId], await SpeakersAsync(user, chat.ChatId, "Hello, everyone."));
    }

    [Fact]
    public async Task Muted_NeverAnswers_UnlessNamed_AndContinueChatSkipsThem()
    {
        var user = TestUsers.New();
        var cast = new[] { await MemberAsync(user, "Ada", 1), await MemberAsync(user, "Bruno", 1), await MemberAsync(user, "Cleo", 1) };
        var ada = cast[0].CharacterId;
        var list = await GroupAsync(user, SpeakerStrategy.List, cast, cast[0]);
        var natural = await GroupAsync(user, SpeakerStrategy.Natural, cast, cast[0]);
        var rotation = await GroupAsync(user, SpeakerStrategy.Unspecified, cast, cast[0]);

        Assert.Equal([ada], list.MutedCharacterIds);
        Assert.Equal([cast[1].CharacterId, cast[2].CharacterId], await SpeakersAsync(user, list.ChatId, "Ada, Bruno, Cleo?"));
        Assert.DoesNotContain(ada, await SpeakersAsync(user, natural.ChatId, "Ada, are you there?"));
        for (var i = 0; i < 3; i++)
        {
            Assert.NotEqual(ada, Assert.Single(await SpeakersAsync(user, rotation.ChatId, $"turn {i}")));
        }

        // Named in the request: the muted one answers.
        Assert.Equal([ada], await SpeakersAsync(user, natural.ChatId, "Just you.", "", ada));
        foreach (var chat in new[] { list, natural, rotation })
        {
            var continued = await ContinueAsync(user, chat.ChatId, 4);
            Assert.Equal(4, continued.Count);
            Assert.DoesNotContain(ada, continued);
        }
    }

    [Fact]
    public async Task StrategyChanges_TakeEffectOnTheNextSend()
    {
        var user = TestUsers.New();
        var cast = new[] { await MemberAsync(user, "Ada"), await MemberAsync(user, "Bruno"), await MemberAsync(user, "Cleo") };
        var ids = cast.Select(c => c.CharacterId).ToList();
        var chat = await CreateChatAsync(user, cast);

        var first = await SpeakersAsync(user, chat.ChatId, "one");
        var listed = await UpdateAsync(user, new Chat { ChatId = chat.ChatId, SpeakerStrategy = SpeakerStrategy.List }, "speaker_strategy");
        var all = await SpeakersAsync(user, chat.ChatId, "two");
        // Only the mute changes: the strategy stays LIST.
        var muted = await UpdateAsync(user, new Chat { ChatId = chat.ChatId, MutedCharacterIds = { ids[2], ids[0] } }, "muted_character_ids");
        var fewer = await SpeakersAsync(user, chat.ChatId, "three");
        // An empty mask replaces both: back to the default with nobody muted.
        var reset = await UpdateAsync(user, new Chat { ChatId = chat.ChatId });
        var rotated = await SpeakersAsync(user, chat.ChatId, "four");
        var read = await Fixture.Client(user).GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct);

        Assert.Equal(SpeakerStrategy.Rotation, chat.SpeakerStrategy);
        Assert.Equal([ids[0]], first);
        Assert.Equal(SpeakerStrategy.List, listed.SpeakerStrategy);
        Assert.Equal(ids, all);
        Assert.Equal(SpeakerStrategy.List, muted.SpeakerStrategy);
        Assert.Equal([ids[0], ids[2]], muted.MutedCharacterIds);
        Assert.Equal([ids[1]], fewer);
        Assert.Equal((SpeakerStrategy.Rotation, 0), (reset.SpeakerStrategy, reset.MutedCharacterIds.Count));
        // The rotation resumes where it was: LIST sends left its cursor alone.
        Assert.Equal([ids[1]], rotated);
        Assert.Equal((SpeakerStrategy.Rotation, 0), (read.SpeakerStrategy, read.MutedCharacterIds.Count));
        Assert.Equal(chat.CharacterIds, read.CharacterIds);
    }

    [Fact]
    public async Task Natural_RetriedSendWithTheSameRequestId_PicksTheSameSpeakers_TheSeededChoice()
    {
        var user = TestUsers.New();
        var cast = new[] { await MemberAsync(user, "Ada", 0.5), await MemberAsync(user, "Bruno", 0.3), await MemberAsync(user, "Cleo", 0.7) };
        var chat = await GroupAsync(user, SpeakerStrategy.Natural, cast);
        var members = cast.Select(c => new CastMember(c.CharacterId, c.DisplayName, c.Talkativeness)).ToList();

        for (var i = 0; i < 6; i++)
        {
            var requestId = $"natural-{i}";
            var first = await SendAsync(user, chat.ChatId, "Hello, all of you.", requestId);
            var again = await SendAsync(user, chat.ChatId, "Hello, all of you.", requestId);

            var speakers = first[0].Accepted.PendingTurns.Select(t => t.CharacterId).ToList();
            Assert.True(again[0].Accepted.Duplicate);
            Assert.Equal(speakers, again[0].Accepted.PendingTurns.Select(t => t.CharacterId));
            // What the server picked is the seeded choice of this chat and request id: a retry that reached a
            // fresh transaction (the first never committed) computes it again, the same.
            Assert.Equal(ReplyPolicy.Natural(members, [], "Hello, all of you.", ReplyPolicy.Seed(chat.ChatId, requestId)), speakers);
        }
    }

    [Fact]
    public async Task Talkativeness_IsACharacterField_AndAChangeReachesTheNextNaturalSend()
    {
        var user = TestUsers.New();
        var quiet = await MemberAsync(user, "Ada", 0);
        var other = await MemberAsync(user, "Bruno", 0);
        var unset = await MemberAsync(user, "Cleo");
        var chat = await GroupAsync(user, SpeakerStrategy.Natural, [quiet, other]);

        var before = await SpeakersAsync(user, chat.ChatId, "Bruno?");
        var updated = await Fixture.Client(user).UpdateCharacterAsync(new UpdateCharacterRequest
        {
            Character = new Character { CharacterId = quiet.CharacterId, Talkativeness = 1 },
            UpdateMask = new FieldMask { Paths = { "talkativeness" } },
        }, cancellationToken: Ct);
        var after = await SpeakersAsync(user, chat.ChatId, "Bruno?");
        var read = await Fixture.Client(user).GetCharacterAsync(new GetCharacterRequest { CharacterId = quiet.CharacterId }, cancellationToken: Ct);

        Assert.Equal((0.0, 0.5), (quiet.Talkativeness, unset.Talkativeness));
        Assert.True(unset.HasTalkativeness);
        Assert.Equal([other.CharacterId], before);
        Assert.Equal((1.0, 2L), (updated.Talkativeness, updated.Version));
        Assert.Equal(1.0, read.Talkativeness);
        Assert.Equal([other.CharacterId, quiet.CharacterId], after);
    }

    [Fact]
    public async Task NaturalSend_ReadsTheCastInOrder_NamesWithTheSeparatorAndEveryDigitOfTalkativeness()
    {
        var user = TestUsers.New();
        // The send's read packs each member into one string: a name holding '|' and digits, a character
        // outside the BMP, and talkativeness that needs all 17 digits come back as stored.
        var cast = new[]
        {
            await MemberAsync(user, "Zoë | 3|x", 0.1 + 0.2),
            await MemberAsync(user, "龍𝄞|", 1.0 / 3),
            await MemberAsync(user, "Ada"),
        };
        var chat = await GroupAsync(user, SpeakerStrategy.Natural, cast);
        var listed = await GroupAsync(user, SpeakerStrategy.List, cast);
        var database = Fixture.Service<SpannerDatabaseClient>();

        var natural = await ChatRows.ReadSpeakingChatAsync(database, user, chat.ChatId, Ct);
        var other = await ChatRows.ReadSpeakingChatAsync(database, user, listed.ChatId, Ct);

        Assert.Equal(
            [new CastMember(cast[0].CharacterId, "Zoë | 3|x", 0.1 + 0.2), new CastMember(cast[1].CharacterId, "龍𝄞|", 1.0 / 3), new CastMember(cast[2].CharacterId, "Ada", 0.5)],
            natural!.Members!);
        Assert.Null(other!.Members);
        Assert.Null(await ChatRows.ReadSpeakingChatAsync(database, TestUsers.New(), chat.ChatId, Ct));
    }

    [Fact]
    public async Task BadSettings_AreInvalidArgument_NamingTheField_AndWriteNothing()
    {
        var user = TestUsers.New();
        var cast = new[] { await MemberAsync(user, "Ada"), await MemberAsync(user, "Bruno") };
        var outsider = await MemberAsync(user, "Zed");
        var chat = await GroupAsync(user, SpeakerStrategy.List, cast, cast[1]);
        var client = Fixture.Client(user);
        async Task<string> Refused(Func<Task> call) => FieldOf(await AssertStatusAsync(StatusCode.InvalidArgument, call));

        Assert.Equal("chat.speaker_strategy", await Refused(() => UpdateAsync(user, new Chat { ChatId = chat.ChatId, SpeakerStrategy = (SpeakerStrategy)9 }, "speaker_strategy")));
        Assert.Equal("chat.muted_character_ids[0]", await Refused(() => UpdateAsync(user, new Chat { ChatId = chat.ChatId, MutedCharacterIds = { outsider.CharacterId } }, "muted_character_ids")));
        Assert.Equal("chat.muted_character_ids", await Refused(() => UpdateAsync(user, new Chat { ChatId = chat.ChatId, MutedCharacterIds = { cast[0].CharacterId, cast[1].CharacterId } }, "muted_character_ids")));
        Assert.Equal("chat.muted_character_ids[1]", await Refused(() => UpdateAsync(user, new Chat { ChatId = chat.ChatId, MutedCharacterIds = { cast[0].CharacterId, cast[0].CharacterId } }, "muted_character_ids")));
        Assert.Equal("update_mask", await Refused(() => UpdateAsync(user, new Chat { ChatId = chat.ChatId, LastSeq = 99 }, "last_seq")));
        Assert.Equal("update_mask", await Refused(() => UpdateAsync(user, new Chat { ChatId = chat.ChatId }, "speakerStrategy")));
        Assert.Equal("chat", await Refused(() => client.UpdateChatAsync(new UpdateChatRequest(), cancellationToken: Ct).ResponseAsync));
        Assert.Equal("chat.chat_id", await Refused(() => UpdateAsync(user, new Chat { ChatId = "nope" })));
        Assert.Equal("speaker_strategy", await Refused(() => client.CreateChatAsync(
            new CreateChatRequest { CharacterIds = { cast[0].CharacterId }, SpeakerStrategy = (SpeakerStrategy)(-1) }, cancellationToken: Ct).ResponseAsync));
        Assert.Equal("muted_character_ids[0]", await Refused(() => client.CreateChatAsync(
            new CreateChatRequest { CharacterIds = { cast[0].CharacterId }, MutedCharacterIds = { outsider.CharacterId } }, cancellationToken: Ct).ResponseAsync));
        Assert.Equal("muted_character_ids", await Refused(() => client.CreateChatAsync(
            new CreateChatRequest { CharacterIds = { cast[0].CharacterId }, MutedCharacterIds = { cast[0].CharacterId } }, cancellationToken: Ct).ResponseAsync));
        foreach (var bad in new[] { -0.01, 1.01, double.NaN, double.PositiveInfinity })
        {
            Assert.Equal("talkativeness", await Refused(() => client.CreateCharacterAsync(
                new CreateCharacterRequest { DisplayName = "T", Persona = "p", Talkativeness = bad }, cancellationToken: Ct).ResponseAsync));
            Assert.Equal("character.talkativeness", await Refused(() => client.UpdateCharacterAsync(new UpdateCharacterRequest
            {
                Character = new Character { CharacterId = cast[0].CharacterId, Talkativeness = bad },
                UpdateMask = new FieldMask { Paths = { "talkativeness" } },
            }, cancellationToken: Ct).ResponseAsync));
        }

        // Another user's chat is not found; the owner's is as it was.
        await AssertStatusAsync(StatusCode.NotFound, () => Fixture.Client(TestUsers.New()).UpdateChatAsync(
            new UpdateChatRequest { Chat = new Chat { ChatId = chat.ChatId, SpeakerStrategy = SpeakerStrategy.Natural } }, cancellationToken: Ct).ResponseAsync);
        var read = await client.GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        var ada = await client.GetCharacterAsync(new GetCharacterRequest { CharacterId = cast[0].CharacterId }, cancellationToken: Ct);
        Assert.Equal(SpeakerStrategy.List, read.SpeakerStrategy);
        Assert.Equal([cast[1].CharacterId], read.MutedCharacterIds);
        Assert.Equal((0.5, 1L), (ada.Talkativeness, ada.Version));
    }

    [Fact]
    public async Task ListChats_LeavesTheSpeakerSettingsEmpty_ForkKeepsThem()
    {
        var user = TestUsers.New();
        var cast = new[] { await MemberAsync(user, "Ada"), await MemberAsync(user, "Bruno") };
        var chat = await GroupAsync(user, SpeakerStrategy.Natural, cast, cast[0]);
        Assert.Equal([cast[1].CharacterId], await SpeakersAsync(user, chat.ChatId, "Ada?"));

        var listed = (await Fixture.Client(user).ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct)).Chats.Single(c => c.ChatId == chat.ChatId);
        var fork = await Fixture.Client(user).ForkChatAsync(new ForkChatRequest { ChatId = chat.ChatId, AtSeq = 1, RequestId = "fork" }, cancellationToken: Ct);

        Assert.Equal((SpeakerStrategy.Unspecified, 0), (listed.SpeakerStrategy, listed.MutedCharacterIds.Count));
        Assert.Equal(SpeakerStrategy.Natural, fork.SpeakerStrategy);
        Assert.Equal([cast[0].CharacterId], fork.MutedCharacterIds);
    }
}
