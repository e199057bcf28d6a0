using ChatService.Chats;

namespace ChatService.Tests.Chats;

public sealed class ReplyPolicyTests
{
    private static readonly string[] Cast = ["a", "b", "c"];

    [Fact]
    public void OneToOne_TheCharacterAlwaysAnswers()
    {
        var (speakers, cursor) = ReplyPolicy.Pick(["solo"], 7, [], 1);

        Assert.Equal(["solo"], speakers);
        Assert.Equal(0, cursor);
    }

    [Fact]
    public void Group_RotatesThroughTheCast()
    {
        var cursor = 0L;
        var order = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            (var speakers, cursor) = ReplyPolicy.Pick(Cast, cursor, [], 1);
            order.AddRange(speakers);
        }

        Assert.Equal(["a", "b", "c", "a", "b"], order);
    }

    [Fact]
    public void Group_SeveralRepliesPerTurn_WrapAround()
    {
        var (speakers, cursor) = ReplyPolicy.Pick(Cast, 2, [], 2);

        Assert.Equal(["c", "a"], speakers);
        Assert.Equal(1, cursor);
    }

    [Fact]
    public void Named_AnswerInTheGivenOrder_AndLeaveTheRotationAlone()
    {
        var (speakers, cursor) = ReplyPolicy.Pick(Cast, 1, ["c", "a", "c"], 1);

        Assert.Equal(["c", "a"], speakers);
        Assert.Equal(1, cursor);
    }
}

/// <summary>The speaker strategies, muting and NATURAL's seeded draws, on the choice alone (no storage).</summary>
public sealed class SpeakerStrategyTests
{
    private static readonly CastMember Ann = new("a", "Ann", 0.5);
    private static readonly CastMember Bo = new("b", "Bo", 0.5);
    private static readonly CastMember Cy = new("c", "Cy Twombly", 0.5);

    private static Chat GroupChat(SpeakerStrategy strategy, string[]? muted = null, CastMember[]? members = null, long cursor = 0)
    {
        var cast = members ?? [Ann, Bo, Cy];
        return new Chat("chat-1", "user", "t", [.. cast.Select(m => m.CharacterId)], 10, cursor, "", default, default)
        {
            Speakers = new SpeakerSettings(strategy, muted ?? []),
            Members = strategy == SpeakerStrategy.Natural ? cast : null,
        };
    }

    private static IReadOnlyList<string> Answer(Chat chat, string text, string requestId = "r1", params string[] named) =>
        ReplyPolicy.ForUserTurn(named, 1, text, requestId)(chat).Speakers;

    [Fact]
    public void Rotation_SkipsMutedMembers_AndMovesTheCursorPastThem()
    {
        var chat = GroupChat(SpeakerStrategy.Rotation, muted: ["b"]);

        var plan = ReplyPolicy.ForUserTurn([], 1)(chat with { RotationCursor = 1 });
        var (two, cursor) = ReplyPolicy.Pick(["a", "b", "c"], 0, [], 2, ["b"]);

        Assert.Equal(["c"], plan.Speakers);
        Assert.Equal(0, plan.NextCursor);
        Assert.Equal(["a", "c"], two);
        Assert.Equal(0, cursor);
    }

    [Fact]
    public void NoSettings_IsRotation_AsBefore()
    {
        var chat = GroupChat(SpeakerStrategy.Rotation) with { Speakers = null, RotationCursor = 2 };

        var plan = ReplyPolicy.ForUserTurn([], 1, "Ann?")(chat);

        Assert.Equal(["c"], plan.Speakers);
        Assert.Equal(0, plan.NextCursor);
    }

    [Fact]
    public void List_EveryUnmutedMemberAnswers_InCastOrder_AndTheCursorStays()
    {
        var plan = ReplyPolicy.ForUserTurn([], 1, "hi")(GroupChat(SpeakerStrategy.List, muted: ["a"], cursor: 2));

        Assert.Equal(["b", "c"], plan.Speakers);
        Assert.Equal(2, plan.NextCursor);
    }

    [Fact]
    public void Named_OverrideEveryStrategy_MutedOnesToo()
    {
        foreach (var strategy in Enum.GetValues<SpeakerStrategy>())
        {
            Assert.Equal(["b", "a"], Answer(GroupChat(strategy, muted: ["b"]), "Cy Twombly, speak", "r1", "b", "a"));
        }
    }

    [Fact]
    public void Natural_MentionedMembersAnswerFirst_InTheOrderMentioned_WholeWordsAnyCase()
    {
        var quiet = new[] { Ann with { Talkativeness = 0 }, Bo with { Talkativeness = 0 }, Cy with { Talkativeness = 0 } };
        var chat = GroupChat(SpeakerStrategy.Natural, members: quiet);

        Assert.Equal(["c", "a"], Answer(chat, "cy twombly, what does ANN think?"));
        Assert.Equal(["b"], Answer(chat, "Anna and Bonnie are not here, but Bo is."));
        // A part of a longer name is no mention of it ("Cy" alone is not "Cy Twombly").
        Assert.Equal(["a"], Answer(chat, "Cy? Ann!"));
        Assert.Equal(0, ReplyPolicy.FirstMention("Bo", "Bo"));
        Assert.Equal(-1, ReplyPolicy.FirstMention("Bob", "Bo"));
        Assert.Equal(-1, ReplyPolicy.FirstMention("Bo_x", "Bo"));
        Assert.Equal(-1, ReplyPolicy.FirstMention("anything", ""));
    }

    [Fact]
    public void Natural_MutedMembersAreNeverPicked_EvenWhenMentionedOrTalkative()
    {
        var eager = new[] { Ann with { Talkativeness = 1 }, Bo with { Talkativeness = 1 }, Cy with { Talkativeness = 0 } };
        var chat = GroupChat(SpeakerStrategy.Natural, muted: ["a"], members: eager);

        for (var i = 0; i < 50; i++)
        {
            var speakers = Answer(chat, "Ann, and you Cy Twombly", $"r{i}");
            Assert.DoesNotContain("a", speakers);
            Assert.Equal(["c", "b"], speakers);
        }
    }

    [Fact]
    public void Natural_TalkativenessOneAlwaysAnswers_ZeroOnlyWhenMentioned()
    {
        var chat = GroupChat(SpeakerStrategy.Natural, members: [Ann with { Talkativeness = 1 }, Bo with { Talkativeness = 0 }, Cy with { Talkativeness = 0 }]);

        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(["a"], Answer(chat, "hello all", $"r{i}"));
            Assert.Equal(["b", "a"], Answer(chat, "Bo first", $"r{i}"));
        }
    }

    [Fact]
    public void Natural_SomebodyAlwaysAnswers_EvenWhenNobodyIsMentionedOrTalkative()
    {
        var chat = GroupChat(SpeakerStrategy.Natural, muted: ["c"], members: [Ann with { Talkativeness = 0 }, Bo with { Talkativeness = 0 }, Cy with { Talkativeness = 0 }]);
        var picked = new HashSet<string>();

        for (var i = 0; i < 200; i++)
        {
            var speakers = Answer(chat, "hello?", $"r{i}");
            picked.Add(Assert.Single(speakers));
        }

        // Evenly among the unmuted when all are 0: both get picked some time, the muted one never.
        Assert.Equal(["a", "b"], picked.Order());
    }

    [Fact]
    public void Natural_IsSeeded_TheSameRequestPicksTheSame_AndChancesFollowTalkativeness()
    {
        var chat = GroupChat(SpeakerStrategy.Natural, members: [Ann with { Talkativeness = 0.2 }, Bo with { Talkativeness = 0.8 }, Cy with { Talkativeness = 0.5 }]);
        var counts = new Dictionary<string, int> { ["a"] = 0, ["b"] = 0, ["c"] = 0 };
        var differ = 0;
        const int Requests = 4000;

        for (var i = 0; i < Requests; i++)
        {
            var first = Answer(chat, "hello", $"req-{i}");
            // A retried transaction runs the choice again on the same chat: same speakers.
            Assert.Equal(first, Answer(chat, "hello", $"req-{i}"));
            Assert.NotEmpty(first);
            foreach (var id in first)
            {
                counts[id]++;
            }

            differ += first.SequenceEqual(Answer(chat with { Id = "chat-2" }, "hello", $"req-{i}")) ? 0 : 1;
        }

        // Each is picked about as often as its talkativeness says (a little more: the fallback when nobody drew).
        Assert.InRange(counts["a"] / (double)Requests, 0.17, 0.27);
        Assert.InRange(counts["b"] / (double)Requests, 0.77, 0.86);
        Assert.InRange(counts["c"] / (double)Requests, 0.46, 0.56);
        // The seed is the chat and the request: another chat draws otherwise.
        Assert.True(differ > Requests / 4, $"only {differ} of {Requests} choices differed between two chats");
    }

    [Fact]
    public void Draw_IsStable_AcrossProcessesAndReleases()
    {
        // Pinned values: a change of the hash would change which speakers a retry of an old request picks.
        // The first 53 bits of SHA-256("s\np\nk"), as any SHA-256 computes them.
        Assert.Equal(0.9992934214292898, ReplyPolicy.Draw("s", "p", "k"));
        Assert.NotEqual(ReplyPolicy.Draw("s", "p", "k"), ReplyPolicy.Draw("s", "p", "k2"));
    }

    [Fact]
    public void Continuation_SkipsMutedMembers_InEveryStrategy()
    {
        foreach (var strategy in Enum.GetValues<SpeakerStrategy>())
        {
            var plan = ReplyPolicy.ForContinuation(6, "go")(GroupChat(strategy, muted: ["b"]));

            Assert.Equal(6, plan.Speakers.Count);
            Assert.DoesNotContain("b", plan.Speakers);
            if (strategy != SpeakerStrategy.Natural)
            {
                Assert.Equal(["a", "c", "a", "c", "a", "c"], plan.Speakers);
            }
        }
    }

    [Fact]
    public void Continuation_Natural_NeverTheSameSpeakerTwiceInARow_AndSeeded()
    {
        var chat = GroupChat(SpeakerStrategy.Natural, members: [Ann with { Talkativeness = 1 }, Bo with { Talkativeness = 0.1 }, Cy with { Talkativeness = 0 }]);

        for (var i = 0; i < 50; i++)
        {
            var plan = ReplyPolicy.ForContinuation(10, $"go-{i}")(chat);
            Assert.All(plan.Speakers.Zip(plan.Speakers.Skip(1)), pair => Assert.NotEqual(pair.First, pair.Second));
            Assert.Equal(plan.Speakers, ReplyPolicy.ForContinuation(10, $"go-{i}")(chat).Speakers);
        }
    }

    [Fact]
    public void Continuation_NeedsTwoUnmutedMembers()
    {
        var ex = Assert.Throws<ChatException>(() => ReplyPolicy.ForContinuation(2, "go")(GroupChat(SpeakerStrategy.List, muted: ["a", "b"])));

        Assert.Equal(ChatErrorKind.FailedPrecondition, ex.Kind);
    }

    [Fact]
    public void Settings_RefuseMutingANonMember_OrEveryMember()
    {
        var notMember = Assert.Throws<ChatException>(() => new SpeakerSettings(SpeakerStrategy.List, ["a", "zz"]).CheckAgainst(["a", "b"], "muted_character_ids"));
        var everyone = Assert.Throws<ChatException>(() => new SpeakerSettings(SpeakerStrategy.List, ["b", "a"]).CheckAgainst(["a", "b"], "muted_character_ids"));

        Assert.Equal(("muted_character_ids[1]", ChatErrorKind.InvalidArgument), (notMember.Field, notMember.Kind));
        Assert.Equal(("muted_character_ids", ChatErrorKind.InvalidArgument), (everyone.Field, everyone.Kind));
    }
}
