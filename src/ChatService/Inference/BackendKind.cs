namespace ChatService.Inference;

/// <summary>What serves a backend.</summary>
public enum BackendKind
{
    /// <summary>The built-in simulated model: deterministic, persona-aware, paced, with fault knobs.</summary>
    Simulated = 0,

    /// <summary>An OpenAI-compatible chat completions server: vLLM, llama.cpp server, Ollama, OpenAI.</summary>
    OpenAI = 1,
}
