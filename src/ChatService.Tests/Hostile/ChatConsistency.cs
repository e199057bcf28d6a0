using ChatService.Api.V1;
using Spanner.Client;

namespace ChatService.Tests.Hostile;

/// <summary>
/// Checks every stored chat once the pipeline is idle: turn numbers contiguous, every reply
/// settled, candidates counted right, no row carrying a rejected request's marker, and history
/// and chat lists as clients read them (through the cache) equal to what Spanner holds.
/// </summary>
internal static class ChatConsistency
{
    private const string TurnsSql =
        """
        SELECT t.ChatId, t.Seq, t.AuthorRole, t.CharacterId, t.Text, t.RequestId, t.ReplyToSeq, t.PrimaryCandidateId, t.CandidateCount,
               (SELECT COUNT(*) FROM Candidates c WHERE c.ChatId = t.ChatId AND c.Seq = t.Seq) AS Candidates,
               p.CandidateId AS PrimaryFound, p.State, p.Text AS CandidateText, p.FailureReason
        FROM Turns t
        LEFT JOIN Candidates p ON p.ChatId = t.ChatId AND p.Seq = t.Seq AND p.CandidateId = t.PrimaryCandidateId
        ORDER BY t.ChatId, t.Seq
        """;

    private const string UnsettledSql =
        "SELECT ChatId, Seq, CandidateId, State FROM Candidates WHERE State IN (1, 2) OR OwedShard IS NOT NULL";

    private const string MarkedSql =
        """
        SELECT 'Turns' AS T, ChatId AS K FROM Turns WHERE STRPOS(IFNULL(Text, ''), @m) > 0
        UNION ALL SELECT 'Candidates', ChatId FROM Candidates WHERE STRPOS(IFNULL(Text, ''), @m) > 0
        UNION ALL SELECT 'Chats', ChatId FROM Chats WHERE STRPOS(Title, @m) > 0 OR STRPOS(LastMessagePreview, @m) > 0
        UNION ALL SELECT 'Characters', CharacterId FROM Characters
          WHERE STRPOS(DisplayName, @m) > 0 OR STRPOS(Persona, @m) > 0 OR STRPOS(IFNULL(Greeting, ''), @m) > 0
             OR STRPOS(IFNULL(Description, ''), @m) > 0 OR STRPOS(IFNULL(Scenario, ''), @m) > 0 OR STRPOS(IFNULL(CreatorNotes, ''), @m) > 0
        UNION ALL SELECT 'Personas', PersonaId FROM Personas WHERE STRPOS(Name, @m) > 0 OR STRPOS(Description, @m) > 0
        UNION ALL SELECT 'Lorebooks', LorebookId FROM Lorebooks WHERE STRPOS(Name, @m) > 0 OR STRPOS(Description, @m) > 0
        """;

    /// <summary>Waits until no reply is owed or unfinished; returns the ones still owed at the deadline.</summary>
    public static async Task<IReadOnlyList<string>> WaitUntilSettledAsync(SpannerDatabaseClient database, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var rows = await database.QueryListAsync(new SpannerStatement(UnsettledSql), cancellationToken: cancellationToken);
            if (rows.Count == 0 || DateTime.UtcNow > deadline)
            {
                return rows.Select(r => $"reply {r.Get<string>("ChatId")}/{r.Get<long>("Seq")}/{r.Get<string>("CandidateId")} still in state {r.Get<long>("State")}").ToList();
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    public static async Task<List<string>> CheckAsync(HostileFixture fixture, CancellationToken cancellationToken)
    {
        var database = fixture.Database;
        var problems = new List<string>();
        var chats = await database.QueryListAsync(new SpannerStatement("SELECT ChatId, UserId, NextSeq, CharacterIds FROM Chats"), cancellationToken: cancellationToken);
        var turns = (await database.QueryListAsync(new SpannerStatement(TurnsSql), cancellationToken: cancellationToken))
            .GroupBy(r => r.Get<string>("ChatId"))
            .ToDictionary(g => g.Key, g => g.ToList());

        foreach (var chat in chats)
        {
            var chatId = chat.Get<string>("ChatId");
            var rows = turns.GetValueOrDefault(chatId) ?? [];
            problems.AddRange(CheckTurns(chatId, chat.Get<long>("NextSeq"), chat.Get<List<string>>("CharacterIds"), rows));
            problems.AddRange(await CheckHistoryAsync(fixture, chat.Get<string>("UserId"), chatId, rows, cancellationToken));
        }

        foreach (var user in chats.Select(c => c.Get<string>("UserId")).Distinct())
        {
            problems.AddRange(await CheckChatListAsync(fixture, user, cancellationToken));
        }

        var marked = await database.QueryListAsync(new SpannerStatement(MarkedSql).Add("m", HostileCases.MarkerPrefix), cancellationToken: cancellationToken);
        problems.AddRange(marked.Select(r => $"{r.Get<string>("T")} of {r.Get<string>("K")} holds the text of a rejected request"));
        return problems;
    }

    private static IEnumerable<string> CheckTurns(string chatId, long lastSeq, List<string> cast, List<SpannerRow> rows)
    {
        var seqs = rows.Select(r => r.Get<long>("Seq")).ToList();
        if (!seqs.SequenceEqual(Enumerable.Range(1, (int)lastSeq).Select(i => (long)i)))
        {
            yield return $"chat {chatId}: turns {Describe(seqs)} are not 1..{lastSeq}";
        }

        foreach (var row in rows)
        {
            var seq = row.Get<long>("Seq");
            var at = $"chat {chatId} turn {seq}";
            if (row.Get<long>("AuthorRole") == 1)
            {
                if (string.IsNullOrWhiteSpace(row.Get<string?>("Text")) || row.IsNull("RequestId") || row.Get<long>("Candidates") != 0 || !row.IsNull("CharacterId"))
                {
                    yield return $"{at}: malformed user turn {row}";
                }

                continue;
            }

            if (row.Get<string?>("CharacterId") is not { } speaker || !cast.Contains(speaker))
            {
                yield return $"{at}: speaker {row.Get<string?>("CharacterId")} is not in the chat";
            }

            if (row.IsNull("PrimaryFound"))
            {
                yield return $"{at}: primary candidate {row.Get<string?>("PrimaryCandidateId")} does not exist";
            }

            if (row.Get<long>("Candidates") != row.Get<long>("CandidateCount") || row.Get<long>("CandidateCount") < 1)
            {
                yield return $"{at}: CandidateCount {row.Get<long>("CandidateCount")} but {row.Get<long>("Candidates")} candidates";
            }

            if (row.Get<long?>("ReplyToSeq") is { } replyTo && (replyTo < 1 || replyTo >= seq))
            {
                yield return $"{at}: replies to turn {replyTo}";
            }
        }
    }

    /// <summary>Every history page the owner reads (the first ones from the cache) against the turns in Spanner.</summary>
    private static async Task<List<string>> CheckHistoryAsync(HostileFixture fixture, string userId, string chatId, List<SpannerRow> rows, CancellationToken cancellationToken)
    {
        var read = new List<Turn>();
        var token = "";
        do
        {
            var page = await fixture.Client(userId).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId, PageSize = 100, PageToken = token },
                cancellationToken: cancellationToken);
            read.AddRange(page.Turns);
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        var fromApi = read.Select(t => $"{t.Seq}|{t.Role}|{t.CharacterId}|{t.CandidateId}|{t.CandidateCount}|{t.State}|{t.ReplyToSeq}|{t.Text}|{t.FailureReason}").ToList();
        var fromSpanner = rows.OrderByDescending(r => r.Get<long>("Seq")).Select(r =>
        {
            var user = r.Get<long>("AuthorRole") == 1;
            return string.Join('|',
                r.Get<long>("Seq"),
                user ? AuthorRole.User : AuthorRole.Character,
                r.Get<string?>("CharacterId") ?? "",
                r.Get<string?>("PrimaryCandidateId") ?? "",
                r.Get<long>("CandidateCount"),
                user ? TurnState.Complete : (TurnState)r.Get<long?>("State").GetValueOrDefault(),
                r.Get<long?>("ReplyToSeq") ?? 0,
                (user ? r.Get<string?>("Text") : r.Get<string?>("CandidateText")) ?? "",
                r.Get<string?>("FailureReason") ?? "");
        }).ToList();

        var differing = fromApi.Zip(fromSpanner).FirstOrDefault(p => p.First != p.Second);
        return fromApi.Count == fromSpanner.Count && differing == default
            ? []
            : [$"chat {chatId}: history read through the API differs from Spanner ({fromApi.Count} vs {fromSpanner.Count} turns; " +
               $"first difference: API '{Shorten(differing.First)}' vs Spanner '{Shorten(differing.Second)}')"];
    }

    /// <summary>The user's chat list, all pages, against the chats Spanner holds for the user.</summary>
    private static async Task<List<string>> CheckChatListAsync(HostileFixture fixture, string userId, CancellationToken cancellationToken)
    {
        var listed = new List<string>();
        var token = "";
        do
        {
            var page = await fixture.Client(userId).ListChatsAsync(new ListChatsRequest { PageSize = 7, PageToken = token }, cancellationToken: cancellationToken);
            listed.AddRange(page.Chats.Select(c => c.ChatId));
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        var stored = (await fixture.Database.QueryListAsync(
                new SpannerStatement("SELECT ChatId FROM Chats WHERE UserId = @u ORDER BY LastActiveTime DESC, ChatId").Add("u", userId),
                cancellationToken: cancellationToken))
            .Select(r => r.Get<string>(0)).ToList();
        return listed.SequenceEqual(stored) ? [] : [$"user {userId}: ListChats pages give {listed.Count} chats ({listed.Distinct().Count()} distinct), Spanner holds {stored.Count}"];
    }

    private static string Describe(List<long> seqs) => seqs.Count <= 12 ? $"[{string.Join(",", seqs)}]" : $"[{string.Join(",", seqs.Take(12))},… ({seqs.Count})]";

    private static string Shorten(string? text) => text is null ? "(none)" : text.Length <= 200 ? text : text[..200] + "…";
}
