using System.ComponentModel.DataAnnotations;

namespace ChatService.Inference;

/// <summary>
/// One model backend, bound from <c>Inference:Backends:&lt;name&gt;</c>. The limits apply to every
/// kind; the simulation knobs only to <see cref="BackendKind.Simulated"/>, the connection
/// settings only to <see cref="BackendKind.OpenAI"/>.
/// </summary>
public sealed class BackendOptions
{
    /// <summary>What serves this backend. Default: <see cref="BackendKind.Simulated"/>.</summary>
    public BackendKind Kind { get; set; } = BackendKind.Simulated;

    /// <summary>The model to ask for; required for OpenAI backends. Default: <c>sim-1</c> for simulated backends.</summary>
    public string? Model { get; set; }

    /// <summary>Most calls in flight on this backend from this replica. Default: 256.</summary>
    [Range(1, 100_000)]
    public int MaxConcurrency { get; set; } = 256;

    /// <summary>How long a call waits for a free slot before it is rejected and the next backend is tried. Default: 100 ms.</summary>
    public TimeSpan QueueTimeout { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest wait for the first text of a reply. Default: 10 s.</summary>
    public TimeSpan FirstTokenTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest a whole reply may take. Default: 2 min.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How prompts for this backend are counted: <c>o200k_base</c> (GPT-4o and later), <c>cl100k_base</c>
    /// (GPT-4, GPT-3.5), or <c>chars</c> (no tokenizer: about four characters a token). A route's prompts
    /// are counted by its first backend's tokenizer. Open models have tokenizers of their own; o200k_base
    /// counts within a few percent of most, so keep some slack in the route's budget. Default: o200k_base.
    /// </summary>
    public string Tokenizer { get; set; } = PromptTokenizer.O200kBase;

    /// <summary>The model name used for calls and the model-call log.</summary>
    internal string EffectiveModel => string.IsNullOrWhiteSpace(Model) ? SimulatedChatClient.DefaultModel : Model;

    // OpenAI-compatible servers.

    /// <summary>Base address of the OpenAI-compatible API, e.g. <c>http://localhost:8000/v1</c>; required for OpenAI backends. Default: none.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>API key sent as a bearer token; local servers usually need none. Default: none.</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// Also send the output limit as the older <c>max_tokens</c> field, which Ollama, LM Studio and
    /// older servers read instead of <c>max_completion_tokens</c>. Turn off for OpenAI reasoning
    /// models, which reject <c>max_tokens</c>. Default: true.
    /// </summary>
    public bool SendLegacyMaxTokens { get; set; } = true;

    /// <summary>
    /// OpenAI-compatible backends: what a continuation's request (ContinueReply, whose prompt ends with the reply so
    /// far as the assistant's message) adds so the server goes on with that message rather than starting a new
    /// one after it. <see cref="ContinuePrefill.None"/> (default) adds nothing, as OpenAI's own API needs;
    /// <see cref="ContinuePrefill.ContinueFinalMessage"/> adds <c>"continue_final_message": true</c> and
    /// <c>"add_generation_prompt": false</c>, the chat-template options of vLLM and of servers that copy them.
    /// </summary>
    public ContinuePrefill ContinuePrefill { get; set; } = ContinuePrefill.None;

    // Simulated model.

    /// <summary>Seed of the simulated model: the same seed and messages give the same reply. Default: 1.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Simulated time to first token, counted from the call (the simulated model's own preparation is inside it). Default: 150 ms.</summary>
    public TimeSpan TimeToFirstToken { get; set; } = TimeSpan.FromMilliseconds(150);

    /// <summary>Simulated generation speed; a token is about a word. Default: 40.</summary>
    [Range(0.001, 1_000_000)]
    public double TokensPerSecond { get; set; } = 40;

    /// <summary>Fewest tokens in a simulated reply. Default: 12.</summary>
    [Range(1, 100_000)]
    public int MinTokens { get; set; } = 12;

    /// <summary>Most tokens in a simulated reply (the request's output limit may lower it). Default: 60.</summary>
    [Range(1, 100_000)]
    public int MaxTokens { get; set; } = 60;

    /// <summary>Probability (0..1) that a simulated call fails before its first token. Default: 0.</summary>
    [Range(0.0, 1.0)]
    public double FailBeforeFirstTokenRate { get; set; }

    /// <summary>Probability (0..1) that a simulated call fails part way through its reply. Default: 0.</summary>
    [Range(0.0, 1.0)]
    public double FailMidStreamRate { get; set; }

    /// <summary>Probability (0..1) that a simulated call never produces its first token (until cancelled). Default: 0.</summary>
    [Range(0.0, 1.0)]
    public double HangRate { get; set; }

    /// <summary>Multiplies every simulated delay; 2 is half speed. Default: 1.</summary>
    [Range(0.0, 10_000)]
    public double SlowFactor { get; set; } = 1;
}

/// <summary>How a backend is told that a prompt's final assistant message is to be continued (<see cref="BackendOptions.ContinuePrefill"/>).</summary>
public enum ContinuePrefill
{
    /// <summary>Nothing is added: the server decides (OpenAI's API continues no message).</summary>
    None,

    /// <summary><c>continue_final_message: true</c> and <c>add_generation_prompt: false</c> (vLLM's chat-template options).</summary>
    ContinueFinalMessage,
}
