using System.Diagnostics;
using ChatService.Api.V1;
using ChatService.Chats;
using ChatService.Dispatch;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Telemetry;

/// <summary>Traces from the RPC through Spanner, Redis, the reply generation and the model call.</summary>
public sealed class TracingTests(TelemetryFixture fixture) : ApiTestBase(fixture), IClassFixture<TelemetryFixture>, IDisposable
{
    private readonly SpanRecorder _spans = new();

    [Fact]
    public async Task SendMessage_OneTraceRunsFromTheRpcThroughSpannerRedisAndTheModelCall()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));

        var events = await SendAsync(user, chat.ChatId, "Tell me about primes.");

        Assert.NotNull(events[^1].Completed);
        var replySeq = events[^1].Seq;
        var rpc = await _spans.WaitForAsync("for the SendMessage RPC", s =>
            s.Source.Name == SpanRecorder.AspNetCore && s.Kind == ActivityKind.Server && Tag(s, "chat.id") == chat.ChatId);
        var generation = await _spans.WaitForAsync("for the reply generation", s =>
            s.Source.Name == SpanRecorder.Dispatch && Tag(s, "chat.id") == chat.ChatId);

        // The generation ran after SendMessage had queued it, yet it is a child of the RPC.
        Assert.Equal(rpc.TraceId, generation.TraceId);
        Assert.Equal(rpc.SpanId, generation.ParentSpanId);
        Assert.Equal(replySeq, generation.GetTagItem("chat.turn.seq"));
        Assert.Equal("complete", Tag(generation, "chat.reply.outcome"));
        Assert.Equal(events[0].Accepted.UserTurn.Seq, rpc.GetTagItem("chat.turn.seq"));

        var trace = _spans.Stopped.Where(s => s.TraceId == rpc.TraceId).ToList();
        var commits = trace.Where(s => s.Source.Name == SpanRecorder.Spanner && s.OperationName == "spanner.Commit").ToList();
        Assert.True(commits.Count >= 2, $"the send and the settle commit in this trace; found {commits.Count}");
        Assert.Contains(trace, s => s.Source.Name == SpanRecorder.Spanner && s.OperationName == "spanner.transaction"
            && s.ParentSpanId == generation.SpanId);
        Assert.Contains(trace, s => s.Source.Name == SpanRecorder.Cache && Tag(s, "chat.id") == chat.ChatId
            && Tag(s, "db.system.name") == "redis");

        var modelCall = Assert.Single(trace, s => s.Source.Name == SpanRecorder.Inference);
        Assert.Equal(generation.SpanId, modelCall.ParentSpanId);
        Assert.Equal("chat sim-fast", modelCall.DisplayName);
        Assert.Equal("sim-fast", Tag(modelCall, "gen_ai.request.model"));
        Assert.Equal("sim", Tag(modelCall, "chat.model_call.backend"));
        Assert.Equal("ok", Tag(modelCall, "chat.model_call.outcome"));
        Assert.True(modelCall.GetTagItem("gen_ai.usage.output_tokens") is int tokens && tokens > 0);
        Assert.True(modelCall.GetTagItem("chat.model_call.time_to_first_token") is double ttft && ttft > 0);
    }

    [Fact]
    public async Task SpannerCommitSpan_DescribesTheRpc()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));

        await SendAsync(user, chat.ChatId, "Hello.");

        var rpc = await _spans.WaitForAsync("for the SendMessage RPC", s =>
            s.Source.Name == SpanRecorder.AspNetCore && Tag(s, "chat.id") == chat.ChatId);
        var commit = _spans.Stopped.First(s => s.TraceId == rpc.TraceId && s.OperationName == "spanner.Commit");
        Assert.Equal(ActivityKind.Client, commit.Kind);
        Assert.Equal("gcp.spanner", Tag(commit, "db.system.name"));
        Assert.Equal("Commit", Tag(commit, "rpc.method"));
        Assert.EndsWith($"/databases/{Fixture.DatabaseId}", Tag(commit, "db.namespace"));
        Assert.Equal(ActivityStatusCode.Unset, commit.Status);
        var transaction = _spans.Stopped.First(s => s.SpanId == commit.ParentSpanId);
        Assert.Equal("spanner.transaction", transaction.OperationName);
        Assert.True(transaction.GetTagItem("spanner.attempts") is int attempts && attempts >= 1);
    }

    [Fact]
    public void RecoveredReply_StartsATraceOfItsOwn()
    {
        using var source = new ActivitySource("ChatService.Tests.Ambient");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == source.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var ambient = source.StartActivity("sweep");
        Assert.NotNull(ambient);

        // No caller context: what happens to be ambient on the worker must not become the parent.
        using var generation = DispatchTracing.StartGeneration(new ReplyKey(Ids.New(), 3, Ids.New()), default, TimeSpan.Zero);

        Assert.NotNull(generation);
        Assert.Equal(default, generation.ParentSpanId);
        Assert.NotEqual(ambient.TraceId, generation.TraceId);
        Assert.Equal(true, generation.GetTagItem("chat.reply.recovered"));
    }

    public void Dispose() => _spans.Dispose();

    private static string? Tag(Activity activity, string name) => activity.GetTagItem(name)?.ToString();
}
