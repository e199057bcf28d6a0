using ChatService.Api.V1;
using Google.Protobuf;
using Grpc.Core;
using ChatClient = ChatService.Api.V1.ChatService.ChatServiceClient;

namespace ChatService.Tests.Hostile;

/// <summary>
/// Draws hostile requests from generators that together cover every RPC of chat.v1.ChatService.
/// Everything random comes from the suite's seeded <see cref="Random"/>, so a seed replays the
/// same requests. Requests that must be rejected carry a marker in their text fields, so a
/// rejected request that was stored anyway can be found afterwards.
/// </summary>
internal sealed partial class HostileCases
{
    public const string MarkerPrefix = "hostile-reject-";

    private static readonly StatusCode[] Invalid = [StatusCode.InvalidArgument];
    private static readonly StatusCode[] NotFound = [StatusCode.NotFound];
    private static readonly StatusCode[] Refused = [StatusCode.InvalidArgument, StatusCode.NotFound, StatusCode.FailedPrecondition, StatusCode.Unauthenticated];
    private static readonly StatusCode[] Ok = [StatusCode.OK];
    private static readonly StatusCode[] Denied = [StatusCode.PermissionDenied];
    private static readonly StatusCode[] Cut = [StatusCode.Cancelled, StatusCode.DeadlineExceeded];

    /// <summary>As a case's deadline: one case in ten gets a deadline of a few milliseconds.</summary>
    private const int SometimesDeadline = -1;

    private readonly HostileFixture _fixture;
    private readonly HostileWorld _world;
    private readonly Random _random;
    private readonly ChatClient _client;
    private readonly Func<HostileCase>[] _noWrites;
    private readonly Func<HostileCase>[] _writes;
    private int _next;

    public HostileCases(HostileFixture fixture, HostileWorld world, Random random)
    {
        _fixture = fixture;
        _world = world;
        _random = random;
        _client = new ChatClient(fixture.Invoker);
        _noWrites =
        [
            MalformedId, UnknownId, ForeignChat, ForeignCharacter, ForeignCandidate, BadSeq, BadText, BadRequestId,
            BadPageSize, BadHistoryToken, BadListToken, BadCharacterListToken, BadVisibility, BadContinueTurns, BadReplyCharacters, BadChatCast,
            BadCharacter, RepeatedRequestId, BadAfterSequence, CancelSettledReply, ReadWithDeadline, OwnLists, ReadStreamCancelled,
            BadIdentity, WireGarbage, BrokenFrame, BadShaping, BadEditAndRegenerate, BadCardImport, CardExport,
            BadCharacterDefinition, BadCharacterChange, BadPersona, BadChatOpening, ReadDefinitions,
            BadCatalogListing, CatalogLists, BadCatalogToken, BadSpeakerControl, BadLorebook, BadLorebookChange, BadCardBook, BadChatMemory, BadReplyPrompt,
            BadPortability,
            BadHousekeeping,
            BadContinueReply,
        ];
        _writes = [SendCancelledMidStream, SendWithDeadline, SendThenCancelReply, SendThenResume, RegenerateCutShort, ContinueCutShort, WriteWithDeadline, ContinueReplyCutShort];
    }

    /// <summary>Cases that must leave stored data exactly as it was: rejected, read-only or repeated requests.</summary>
    public List<HostileCase> NoWrites(int count) => Enumerable.Range(0, count).Select(_ => Draw(_noWrites)).ToList();

    /// <summary>Legitimate writes cut short (cancelled mid-stream, deadlines of a few ms), mixed with cases that must be rejected.</summary>
    public List<HostileCase> Mixed(int count, double writeShare) =>
        Enumerable.Range(0, count).Select(_ => Draw(_random.NextDouble() < writeShare ? _writes : _noWrites)).ToList();

    private HostileCase Draw(Func<HostileCase>[] generators) => generators[_random.Next(generators.Length)]();

    // ---- Building cases ----------------------------------------------------------------------

    /// <summary>
    /// A case that calls the RPC <paramref name="request"/> belongs to, as <paramref name="userId"/>;
    /// <paramref name="deadlineMs"/> null for none, or <see cref="SometimesDeadline"/>.
    /// </summary>
    private HostileCase Case(IMessage request, string generator, IEnumerable<StatusCode> allowed, string userId,
        Func<object, string?>? check = null, int? cancelAfter = null, int? deadlineMs = SometimesDeadline, CaseEffect effect = CaseEffect.None) =>
        Case(RpcOf(request), generator, allowed, Call(As(userId), request, check, cancelAfter),
            deadlineMs == SometimesDeadline ? MaybeDeadline() : deadlineMs, effect, cancelAfter is not null);

    private HostileCase Case(string rpc, string generator, IEnumerable<StatusCode> allowed, Func<CancellationToken, DateTime?, Task<Observation>> run,
        int? deadlineMs = null, CaseEffect effect = CaseEffect.None, bool cancels = false)
    {
        var codes = new HashSet<StatusCode>(allowed) { StatusCode.ResourceExhausted };
        if (deadlineMs is not null)
        {
            codes.UnionWith(Cut);
        }

        if (cancels)
        {
            codes.Add(StatusCode.Cancelled);
        }

        return new HostileCase(_next++, rpc, generator, effect, codes, deadlineMs, run);
    }

    private static string RpcOf(IMessage request) => request.Descriptor.Name.Replace("Request", "", StringComparison.Ordinal);

    /// <summary>Calls the RPC whose request <paramref name="request"/> is; streams are read to the end (or cancelled after some events).</summary>
    private Func<CancellationToken, DateTime?, Task<Observation>> Call(Metadata headers, IMessage request, Func<object, string?>? check, int? cancelAfter) =>
        request switch
        {
            CreateCharacterRequest r => Unary(headers, (c, o) => c.CreateCharacterAsync(r, o), check),
            GetCharacterRequest r => Unary(headers, (c, o) => c.GetCharacterAsync(r, o), check),
            ListCharactersRequest r => Unary(headers, (c, o) => c.ListCharactersAsync(r, o), check),
            UpdateCharacterRequest r => Unary(headers, (c, o) => c.UpdateCharacterAsync(r, o), check),
            DeleteCharacterRequest r => Unary(headers, (c, o) => c.DeleteCharacterAsync(r, o), check),
            CreatePersonaRequest r => Unary(headers, (c, o) => c.CreatePersonaAsync(r, o), check),
            ListPersonasRequest r => Unary(headers, (c, o) => c.ListPersonasAsync(r, o), check),
            UpdatePersonaRequest r => Unary(headers, (c, o) => c.UpdatePersonaAsync(r, o), check),
            DeletePersonaRequest r => Unary(headers, (c, o) => c.DeletePersonaAsync(r, o), check),
            CreateChatRequest r => Unary(headers, (c, o) => c.CreateChatAsync(r, o), check),
            GetChatRequest r => Unary(headers, (c, o) => c.GetChatAsync(r, o), check),
            ListChatsRequest r => Unary(headers, (c, o) => c.ListChatsAsync(r, o), check),
            DeleteChatRequest r => Unary(headers, (c, o) => c.DeleteChatAsync(r, o), check),
            UpdateChatRequest r => Unary(headers, (c, o) => c.UpdateChatAsync(r, o), check),
            GetHistoryRequest r => Unary(headers, (c, o) => c.GetHistoryAsync(r, o), check),
            CancelReplyRequest r => Unary(headers, (c, o) => c.CancelReplyAsync(r, o), check),
            ListCandidatesRequest r => Unary(headers, (c, o) => c.ListCandidatesAsync(r, o), check),
            SelectCandidateRequest r => Unary(headers, (c, o) => c.SelectCandidateAsync(r, o), check),
            RewindChatRequest r => Unary(headers, (c, o) => c.RewindChatAsync(r, o), check),
            DeleteTurnsRequest r => Unary(headers, (c, o) => c.DeleteTurnsAsync(r, o), check),
            RestoreTurnsRequest r => Unary(headers, (c, o) => c.RestoreTurnsAsync(r, o), check),
            ForkChatRequest r => Unary(headers, (c, o) => c.ForkChatAsync(r, o), check),
            RateCandidateRequest r => Unary(headers, (c, o) => c.RateCandidateAsync(r, o), check),
            EditTurnRequest r => Unary(headers, (c, o) => c.EditTurnAsync(r, o), check),
            ListTurnRevisionsRequest r => Unary(headers, (c, o) => c.ListTurnRevisionsAsync(r, o), check),
            PinTurnRequest r => Unary(headers, (c, o) => c.PinTurnAsync(r, o), check),
            UnpinTurnRequest r => Unary(headers, (c, o) => c.UnpinTurnAsync(r, o), check),
            GetChatMemoryRequest r => Unary(headers, (c, o) => c.GetChatMemoryAsync(r, o), check),
            UpdateChatMemoryRequest r => Unary(headers, (c, o) => c.UpdateChatMemoryAsync(r, o), check),
            GetReplyPromptRequest r => Unary(headers, (c, o) => c.GetReplyPromptAsync(r, o), check),
            ImportCharacterCardRequest r => Unary(headers, (c, o) => c.ImportCharacterCardAsync(r, o), check),
            ExportCharacterCardRequest r => Unary(headers, (c, o) => c.ExportCharacterCardAsync(r, o), check),
            CreateLorebookRequest r => Unary(headers, (c, o) => c.CreateLorebookAsync(r, o), check),
            GetLorebookRequest r => Unary(headers, (c, o) => c.GetLorebookAsync(r, o), check),
            ListLorebooksRequest r => Unary(headers, (c, o) => c.ListLorebooksAsync(r, o), check),
            UpdateLorebookRequest r => Unary(headers, (c, o) => c.UpdateLorebookAsync(r, o), check),
            DeleteLorebookRequest r => Unary(headers, (c, o) => c.DeleteLorebookAsync(r, o), check),
            AttachLorebookRequest r => Unary(headers, (c, o) => c.AttachLorebookAsync(r, o), check),
            DetachLorebookRequest r => Unary(headers, (c, o) => c.DetachLorebookAsync(r, o), check),
            SearchChatsRequest r => Unary(headers, (c, o) => c.SearchChatsAsync(r, o), check),
            DeleteMyDataRequest r => Unary(headers, (c, o) => c.DeleteMyDataAsync(r, o), check),
            GetDataDeletionRequest r => Unary(headers, (c, o) => c.GetDataDeletionAsync(r, o), check),
            SendMessageRequest r => Streaming(headers, (c, o) => c.SendMessage(r, o), new ReplyEvents.Expectation(true, 0), cancelAfter, check),
            StreamReplyRequest r => Streaming(headers, (c, o) => c.StreamReply(r, o), new ReplyEvents.Expectation(false, r.AfterSequence), cancelAfter, check),
            RegenerateRequest r => Streaming(headers, (c, o) => c.Regenerate(r, o), new ReplyEvents.Expectation(true, 0), cancelAfter, check),
            ImportChatRequest r => Unary(headers, (c, o) => c.ImportChatAsync(r, o), check),
            ExportChatRequest r => Chunks(headers, (c, o) => c.ExportChat(r, o), check),
            ExportMyDataRequest r => Chunks(headers, (c, o) => c.ExportMyData(r, o), check),
            ContinueChatRequest r => Streaming(headers, (c, o) => c.ContinueChat(r, o), new ReplyEvents.Expectation(true, 0), cancelAfter, check),
            ContinueReplyRequest r => Streaming(headers, (c, o) => c.ContinueReply(r, o), new ReplyEvents.Expectation(true, 0, Continuation: true), cancelAfter, check),
            _ => throw new ArgumentException($"no RPC takes {request.Descriptor.Name}", nameof(request)),
        };

    private Func<CancellationToken, DateTime?, Task<Observation>> Unary<TResponse>(
        Metadata headers, Func<ChatClient, CallOptions, AsyncUnaryCall<TResponse>> call, Func<object, string?>? check)
        where TResponse : IMessage =>
        async (cancellationToken, deadline) =>
        {
            try
            {
                var response = await call(_client, new CallOptions(headers, deadline, cancellationToken));
                return Observation.Ok with { Problem = check?.Invoke(response) };
            }
            catch (RpcException ex)
            {
                return Observation.Of(ex);
            }
        };

    /// <summary>
    /// Reads a reply stream, checking its events; with <paramref name="cancelAfter"/> the caller
    /// cancels the call after that many events (0: right after starting it). A check gets the
    /// list of events of a stream that ended OK.
    /// </summary>
    private Func<CancellationToken, DateTime?, Task<Observation>> Streaming(Metadata headers,
        Func<ChatClient, CallOptions, AsyncServerStreamingCall<ReplyEvent>> call, ReplyEvents.Expectation expectation,
        int? cancelAfter, Func<object, string?>? check) =>
        async (cancellationToken, deadline) =>
        {
            using var cut = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var events = new List<ReplyEvent>();
            try
            {
                using var stream = call(_client, new CallOptions(headers, deadline, cut.Token));
                if (cancelAfter == 0)
                {
                    await cut.CancelAsync();
                }

                while (await stream.ResponseStream.MoveNext(CancellationToken.None))
                {
                    events.Add(stream.ResponseStream.Current);
                    if (events.Count == cancelAfter)
                    {
                        await cut.CancelAsync();
                    }
                }

                return Observation.Ok with { Problem = ReplyEvents.Problem(events, expectation, finished: true) ?? check?.Invoke(events) };
            }
            catch (RpcException ex)
            {
                return Observation.Of(ex, ReplyEvents.Problem(events, expectation, finished: false)) with
                {
                    CancelledByCaller = cut.IsCancellationRequested && !cancellationToken.IsCancellationRequested,
                };
            }
        };

    // ---- Picking -------------------------------------------------------------------------------

    private Party Caller() => _random.Next(2) == 0 ? _world.Alice : _world.Bob;

    private SeededChat AnyChat(Party party) => party.Chats[_random.Next(party.Chats.Count)];

    private T Pick<T>(params T[] items) => items[_random.Next(items.Length)];

    private string Marker() => $"{MarkerPrefix}{_next}";

    /// <summary>A new idempotency key; one in four is as long as a key may be (64 characters).</summary>
    private string FreshRequestId() =>
        _random.Next(4) == 0 ? $"h{_random.Next():x8}".PadRight(64, '_') : $"h{_random.Next():x8}{_random.Next():x8}";

    /// <summary>One case in ten gets a deadline of a few milliseconds.</summary>
    private int? MaybeDeadline() => _random.Next(10) == 0 ? _random.Next(1, 6) : null;

    private static Metadata As(string userId) => new() { { "x-user-id", userId } };

    /// <summary>A candidate id of the chat that belongs to another turn than <paramref name="seq"/>.</summary>
    private string CandidateOfAnotherTurn(SeededChat chat, long seq) =>
        Pick(chat.Candidates.Where(c => c.Key != seq).SelectMany(c => c.Value).ToArray());
}
