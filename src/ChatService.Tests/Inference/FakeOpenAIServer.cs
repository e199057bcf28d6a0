using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Text.Json;
using System.Text;
using ChatService.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ChatService.Tests.Inference;

/// <summary>
/// A real HTTP server (Kestrel on a free loopback port) that speaks the OpenAI streaming chat
/// completions protocol, the way vLLM, llama.cpp server and Ollama do: <c>POST /v1/chat/completions</c>
/// with <c>"stream": true</c> answers <c>text/event-stream</c> chunks, a final chunk with
/// <c>finish_reason</c>, a usage chunk when <c>stream_options.include_usage</c> asks for it, then
/// <c>data: [DONE]</c>. Records every request it receives.
/// </summary>
public sealed class FakeOpenAIServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<JsonObject> _requests = new();

    private FakeOpenAIServer(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>The API base, e.g. <c>http://127.0.0.1:54321/v1</c>.</summary>
    public Uri BaseUrl { get; }

    /// <summary>The streamed reply, one chunk per SSE event.</summary>
    public string[] ReplyChunks { get; set; } = ["Ahoy", ", matey", "! The ", "treasure is ", "under the palm."];

    /// <summary>When set, every request is answered with this status and an OpenAI-style error body.</summary>
    public int? FailWithStatus { get; set; }

    /// <summary>When set, the connection is dropped after this many content chunks.</summary>
    public int? AbortAfterChunks { get; set; }

    /// <summary>Wait before the first chunk (the request's cancellation ends it early).</summary>
    public TimeSpan DelayBeforeFirstChunk { get; set; }

    /// <summary>
    /// When set, every request waits for this task before its first chunk (the request's cancellation ends
    /// the wait), so a test can order events by releasing it instead of by a timed delay.
    /// </summary>
    public Task? FirstChunkGate { get; set; }

    /// <summary>
    /// When set, every request waits for this task after its first content chunk, before the rest (the request's
    /// cancellation ends the wait), so a test can act while a reply is part-way streamed without a timed delay.
    /// </summary>
    public Task? NextChunksGate { get; set; }

    /// <summary>Wait between two content chunks, so a client can act while the reply is still streaming.</summary>
    public TimeSpan ChunkDelay { get; set; }

    /// <summary>Whether to honour <c>stream_options.include_usage</c>.</summary>
    public bool SendUsage { get; set; } = true;

    public (int Prompt, int Completion) Usage { get; set; } = (42, 5);

    public IReadOnlyList<JsonObject> Requests => [.. _requests];

    public static async Task<FakeOpenAIServer> StartAsync(CancellationToken cancellationToken)
    {
        var app = LoopbackWebApp.Create();
        FakeOpenAIServer? server = null;
        app.MapPost("/v1/chat/completions", (HttpContext context) => server!.HandleAsync(context));
        var port = await LoopbackWebApp.StartAsync(app, cancellationToken);
        server = new FakeOpenAIServer(app, new Uri($"http://127.0.0.1:{port}/v1"));
        return server;
    }

    /// <summary>The text of each message of the <paramref name="index"/>th request, as (role, content).</summary>
    public List<(string Role, string Content)> Messages(int index) =>
        [.. Requests[index]["messages"]!.AsArray().Select(m => (m!["role"]!.GetValue<string>(), ContentText(m["content"])))];

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = (await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted))!.AsObject();
        _requests.Enqueue(request);

        if (FailWithStatus is { } status)
        {
            context.Response.StatusCode = status;
            await context.Response.WriteAsJsonAsync(
                new { error = new { message = $"Simulated server error {status}.", type = "server_error", code = (string?)null } },
                context.RequestAborted);
            return;
        }

        var model = request["model"]?.GetValue<string>() ?? "unknown";
        var includeUsage = SendUsage && request["stream_options"]?["include_usage"]?.GetValue<bool>() == true;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.StartAsync(context.RequestAborted);
        if (DelayBeforeFirstChunk > TimeSpan.Zero)
        {
            await Task.Delay(DelayBeforeFirstChunk, context.RequestAborted);
        }

        if (FirstChunkGate is { } gate)
        {
            await gate.WaitAsync(context.RequestAborted);
        }

        const string id = "chatcmpl-fake-1";
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        object Chunk(object delta, string? finishReason) => new
        {
            id,
            @object = "chat.completion.chunk",
            created,
            model,
            choices = new[] { new { index = 0, delta, finish_reason = finishReason } },
        };

        await SendAsync(context, Chunk(new { role = "assistant", content = "" }, null));
        for (var i = 0; i < ReplyChunks.Length; i++)
        {
            if (AbortAfterChunks == i)
            {
                // Give the client time to read what was sent: a reset can discard data still unread in its socket buffer.
                await Task.Delay(TimeSpan.FromMilliseconds(300), context.RequestAborted);
                context.Abort();
                return;
            }

            if (i == 1 && NextChunksGate is { } next)
            {
                await next.WaitAsync(context.RequestAborted);
            }

            if (i > 0 && ChunkDelay > TimeSpan.Zero)
            {
                await Task.Delay(ChunkDelay, context.RequestAborted);
            }

            await SendAsync(context, Chunk(new { content = ReplyChunks[i] }, null));
        }

        await SendAsync(context, Chunk(new { }, "stop"));
        if (includeUsage)
        {
            await SendAsync(context, new
            {
                id,
                @object = "chat.completion.chunk",
                created,
                model,
                choices = Array.Empty<object>(),
                usage = new { prompt_tokens = Usage.Prompt, completion_tokens = Usage.Completion, total_tokens = Usage.Prompt + Usage.Completion },
            });
        }

        await context.Response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    private static async Task SendAsync(HttpContext context, object payload)
    {
        var line = "data: " + JsonSerializer.Serialize(payload) + "\n\n";
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(line), context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    /// <summary>Content is a string, or an array of parts of which the text ones count.</summary>
    private static string ContentText(JsonNode? content) => content switch
    {
        JsonValue value => value.GetValue<string>(),
        JsonArray parts => string.Concat(parts.Select(p => p?["text"]?.GetValue<string>() ?? "")),
        _ => "",
    };
}
