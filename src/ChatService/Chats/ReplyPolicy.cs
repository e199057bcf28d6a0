using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace ChatService.Chats;

/// <summary>
/// Decides which characters answer. In a one-to-one chat the one character does. In a group chat the
/// characters the user named answer, in the order named (muted ones too: naming is the user's own
/// choice); otherwise the chat's <see cref="SpeakerStrategy"/> picks among its unmuted members.
/// Every choice is a pure function of the chat as the recording transaction read it and of the
/// request: a retried transaction, or a retried request that never committed, picks the same
/// speakers. NATURAL's chances are therefore not drawn from a random generator but from a hash of
/// the chat id, the request id and the member (<see cref="Draw"/>).
/// </summary>
public static class ReplyPolicy
{
    /// <summary>
    /// Most turns one ContinueChat request may add. Storage finds a repeated request's turns by
    /// this many derived request ids, so the API limit and that lookup must agree.
    /// </summary>
    public const int MaxContinuationTurns = 10;

    /// <summary>
    /// Who answers a user turn: the characters the user named (each must be in the chat), else those
    /// the chat's strategy picks for <paramref name="text"/>. <paramref name="requestId"/> seeds NATURAL's draws.
    /// </summary>
    public static SpeakerChoice ForUserTurn(IReadOnlyList<string> named, int repliesPerTurn, string text = "", string requestId = "") => chat =>
    {
        foreach (var (id, index) in named.Select((id, i) => (id, i)))
        {
            if (!chat.CharacterIds.Contains(id))
            {
                throw new ChatException(ChatErrorKind.InvalidArgument,
                    $"reply_character_ids[{index}]: character {id} is not in this chat", $"reply_character_ids[{index}]");
            }
        }

        var settings = chat.Speakers ?? SpeakerSettings.Default;
        if (named.Count > 0 || settings.Strategy == SpeakerStrategy.Rotation)
        {
            var (speakers, nextCursor) = Pick(chat.CharacterIds, chat.RotationCursor, named, repliesPerTurn, settings.Muted);
            return new SpeakerPlan(speakers, nextCursor);
        }

        // LIST and NATURAL leave the rotation where it was.
        return settings.Strategy == SpeakerStrategy.List
            ? new SpeakerPlan([.. chat.CharacterIds.Where(id => !settings.IsMuted(id))], chat.RotationCursor)
            : new SpeakerPlan(Natural(MembersOf(chat), settings.Muted, text, Seed(chat.Id, requestId)), chat.RotationCursor);
    };

    /// <summary>
    /// Who speaks in each of <paramref name="turns"/> turns the characters of a group chat add among
    /// themselves: one a turn, among the unmuted members (at least two). ROTATION and LIST go round
    /// the cast from the rotation cursor; NATURAL draws each turn's speaker by talkativeness, never the
    /// one who just spoke, seeded by <paramref name="requestId"/>.
    /// </summary>
    public static SpeakerChoice ForContinuation(int turns, string requestId = "") => chat =>
    {
        if (chat.CharacterIds.Count < 2)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition, "only group chats can continue without the user; this chat has one character");
        }

        var settings = chat.Speakers ?? SpeakerSettings.Default;
        if (chat.CharacterIds.Count(id => !settings.IsMuted(id)) < 2)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition,
                "the characters continue among themselves only when at least two of them are unmuted; unmute one with UpdateChat");
        }

        var speakers = new List<string>(turns);
        if (settings.Strategy == SpeakerStrategy.Natural)
        {
            var open = MembersOf(chat).Where(m => !settings.IsMuted(m.CharacterId)).ToList();
            var seed = Seed(chat.Id, requestId);
            string? previous = null;
            for (var i = 0; i < turns; i++)
            {
                previous = Weighted(open.Where(m => m.CharacterId != previous).ToList(), Draw(seed, $"turn {i}", ""));
                speakers.Add(previous);
            }

            return new SpeakerPlan(speakers, chat.RotationCursor);
        }

        var cursor = chat.RotationCursor;
        for (var i = 0; i < turns; i++)
        {
            (var next, cursor) = Pick(chat.CharacterIds, cursor, [], 1, settings.Muted);
            speakers.Add(next[0]);
        }

        return new SpeakerPlan(speakers, cursor);
    };

    /// <summary>
    /// ROTATION: the named speakers (the rotation stays where it was), else the next
    /// <paramref name="repliesPerTurn"/> members from the cursor that are not <paramref name="muted"/>,
    /// and the cursor to store for the next turn (past the last member picked).
    /// </summary>
    public static (IReadOnlyList<string> Speakers, long NextCursor) Pick(
        IReadOnlyList<string> characterIds, long rotationCursor, IReadOnlyList<string> named, int repliesPerTurn,
        IReadOnlyCollection<string>? muted = null)
    {
        if (characterIds.Count == 0)
        {
            return ([], rotationCursor);
        }

        if (named.Count > 0)
        {
            // Named speakers do not move the rotation: it resumes where it was.
            return (named.Distinct(StringComparer.Ordinal).ToList(), rotationCursor);
        }

        muted ??= [];
        var count = Math.Min(repliesPerTurn, characterIds.Count(id => !muted.Contains(id)));
        var speakers = new List<string>(count);
        var steps = 0;
        while (speakers.Count < count)
        {
            var id = characterIds[(int)((rotationCursor + steps) % characterIds.Count)];
            steps++;
            if (!muted.Contains(id))
            {
                speakers.Add(id);
            }
        }

        return (speakers, (rotationCursor + steps) % characterIds.Count);
    }

    /// <summary>
    /// NATURAL: the unmuted members <paramref name="text"/> mentions (<see cref="FirstMention"/>), in the
    /// order mentioned; then, in cast order, each other unmuted member whose draw falls below its
    /// talkativeness; and when that leaves nobody, one unmuted member drawn with chances in proportion
    /// to talkativeness (evenly when all are 0), so a turn is always answered.
    /// </summary>
    public static IReadOnlyList<string> Natural(IReadOnlyList<CastMember> members, IReadOnlyCollection<string> muted, string text, string seed)
    {
        var open = members.Where(m => !muted.Contains(m.CharacterId)).ToList();
        if (open.Count == 0)
        {
            return [];
        }

        var speakers = open
            .Select((m, i) => (Member: m, At: FirstMention(text, m.DisplayName), Index: i))
            .Where(x => x.At >= 0)
            .OrderBy(x => x.At)
            .ThenBy(x => x.Index)
            .Select(x => x.Member.CharacterId)
            .ToList();
        var mentioned = speakers.ToHashSet(StringComparer.Ordinal);
        speakers.AddRange(open
            .Where(m => !mentioned.Contains(m.CharacterId) && Draw(seed, "talk", m.CharacterId) < m.Talkativeness)
            .Select(m => m.CharacterId));
        if (speakers.Count == 0)
        {
            speakers.Add(Weighted(open, Draw(seed, "fallback", "")));
        }

        return speakers;
    }

    /// <summary>
    /// Where <paramref name="name"/> is first mentioned in <paramref name="text"/> as whole words (not
    /// inside a longer word: "Ann" is not in "Anna"), ignoring case; -1 when it is not. An empty name is
    /// never mentioned.
    /// </summary>
    public static int FirstMention(string text, string name)
    {
        if (name.Length == 0)
        {
            return -1;
        }

        for (var from = 0; from <= text.Length - name.Length;)
        {
            var at = text.IndexOf(name, from, StringComparison.OrdinalIgnoreCase);
            if (at < 0)
            {
                return -1;
            }

            var end = at + name.Length;
            if ((at == 0 || !IsWordCharacter(text[at - 1])) && (end == text.Length || !IsWordCharacter(text[end])))
            {
                return at;
            }

            from = at + 1;
        }

        return -1;
    }

    /// <summary>The seed of one request's draws: the same chat and request id always draw the same numbers.</summary>
    public static string Seed(string chatId, string requestId) => $"{chatId}\n{requestId}";

    /// <summary>
    /// A number in [0, 1) that depends only on its arguments: the first 53 bits of the SHA-256 of
    /// them. Stable across processes, replicas and releases, unlike <see cref="Random"/>.
    /// </summary>
    public static double Draw(string seed, string purpose, string key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{seed}\n{purpose}\n{key}"), hash);
        return (BinaryPrimitives.ReadUInt64BigEndian(hash) >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>One of <paramref name="members"/> (not empty) for a <paramref name="draw"/> in [0, 1), each with a chance in proportion to its talkativeness (evenly when all are 0).</summary>
    private static string Weighted(IReadOnlyList<CastMember> members, double draw)
    {
        var total = members.Sum(m => m.Talkativeness);
        if (total <= 0)
        {
            return members[Math.Min((int)(draw * members.Count), members.Count - 1)].CharacterId;
        }

        var point = draw * total;
        foreach (var member in members)
        {
            point -= member.Talkativeness;
            if (point < 0)
            {
                return member.CharacterId;
            }
        }

        // Rounding left the point at the very end: the last member that can speak at all.
        return members.Last(m => m.Talkativeness > 0).CharacterId;
    }

    /// <summary>The chat's members as NATURAL sees them; without <see cref="Chat.Members"/>, unnamed (never mentioned) and of default talkativeness.</summary>
    private static IReadOnlyList<CastMember> MembersOf(Chat chat) =>
        chat.Members ?? [.. chat.CharacterIds.Select(id => new CastMember(id, "", Character.DefaultTalkativeness))];

    private static bool IsWordCharacter(char c) => char.IsLetterOrDigit(c) || c == '_';
}
