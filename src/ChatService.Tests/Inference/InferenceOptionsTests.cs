using ChatService.Inference;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ChatService.Tests.Inference;

public sealed class InferenceOptionsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddInference();
        return builder.Build();
    }

    [Fact]
    public async Task NoConfiguration_SimulatedBackendOnTheDefaultRoute_Generates()
    {
        using var host = Build(new()
        {
            // Only speed: the backend and route come from the defaults.
            ["Inference:Backends:sim:TimeToFirstToken"] = "00:00:00",
            ["Inference:Backends:sim:TokensPerSecond"] = "1000000",
        });
        await host.StartAsync(Ct);
        var router = host.Services.GetRequiredService<ModelRouter>();

        var events = new List<GenerationEvent>();
        var request = new GenerationRequest("default", [new ChatMessage(ChatRole.System, "You are Aria."), new ChatMessage(ChatRole.User, "Hello")]);
        await foreach (var e in router.GenerateAsync(request, Ct))
        {
            events.Add(e);
        }

        Assert.True(router.HasRoute("default"));
        var call = Assert.Single(events.OfType<AttemptFinished>()).Call;
        Assert.Equal(("sim", "sim-1", "ok"), (call.Backend, call.Model, call.Outcome));
        Assert.StartsWith("Aria here.", RouterTesting.Text(events));
        await host.StopAsync(Ct);
    }

    [Fact]
    public void AbsentSection_Defaults()
    {
        using var host = Build([]);

        var options = host.Services.GetRequiredService<IOptions<InferenceOptions>>().Value;

        var sim = Assert.Single(options.Backends);
        Assert.Equal("sim", sim.Key);
        Assert.Equal(BackendKind.Simulated, sim.Value.Kind);
        Assert.Equal(TimeSpan.FromMilliseconds(150), sim.Value.TimeToFirstToken);
        Assert.Equal((12, 60, 40.0, 256), (sim.Value.MinTokens, sim.Value.MaxTokens, sim.Value.TokensPerSecond, sim.Value.MaxConcurrency));
        Assert.Equal(["sim"], options.Routes["default"]);
        Assert.Equal(1, options.RetriesBeforeFirstToken);
    }

    [Fact]
    public void Configuration_BindsBackendsAndRoutes()
    {
        using var host = Build(new()
        {
            ["Inference:Backends:sim:Seed"] = "9",
            ["Inference:Backends:sim:FailMidStreamRate"] = "0.25",
            ["Inference:Backends:local-llm:Kind"] = "OpenAI",
            ["Inference:Backends:local-llm:BaseUrl"] = "http://localhost:8000/v1",
            ["Inference:Backends:local-llm:Model"] = "meta-llama/Llama-3.1-8B-Instruct",
            ["Inference:Backends:local-llm:MaxConcurrency"] = "32",
            ["Inference:Backends:local-llm:FirstTokenTimeout"] = "00:00:05",
            ["Inference:Routes:default:0"] = "local-llm",
            ["Inference:Routes:default:1"] = "sim",
            ["Inference:RetryDelay"] = "00:00:00.250",
        });

        var options = host.Services.GetRequiredService<IOptions<InferenceOptions>>().Value;
        var router = host.Services.GetRequiredService<ModelRouter>();

        Assert.Equal(["local-llm", "sim"], options.Routes["default"]);
        var llm = options.Backends["local-llm"];
        Assert.Equal((BackendKind.OpenAI, "meta-llama/Llama-3.1-8B-Instruct", 32, TimeSpan.FromSeconds(5)), (llm.Kind, llm.Model, llm.MaxConcurrency, llm.FirstTokenTimeout));
        Assert.Equal((9, 0.25), (options.Backends["sim"].Seed, options.Backends["sim"].FailMidStreamRate));
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.RetryDelay);
        Assert.True(router.HasRoute("default"));
    }

    [Theory]
    [InlineData("Inference:Routes:default:0", "missing", "names backend 'missing'")]
    [InlineData("Inference:Backends:sim:Kind", "OpenAI", "BaseUrl")]
    [InlineData("Inference:Backends:sim:FailBeforeFirstTokenRate", "1.5", "FailBeforeFirstTokenRate")]
    [InlineData("Inference:Backends:sim:MinTokens", "100", "MinTokens must not exceed MaxTokens")]
    [InlineData("Inference:Backends:sim:Tokenizer", "gpt2", "Inference:Backends:sim:Tokenizer 'gpt2' is not one of o200k_base, cl100k_base, chars")]
    [InlineData("Inference:ReplyReserveTokens", "8192", "must leave at least 128 tokens for the prompt")]
    [InlineData("Inference:RouteBudgets:default:ContextTokens", "300", "Inference:RouteBudgets:default: ContextTokens (300) minus ReplyReserveTokens (512)")]
    [InlineData("Inference:RouteBudgets:nowhere:ContextTokens", "4096", "Inference:RouteBudgets:nowhere is the budget of a route that is not configured")]
    public async Task InvalidConfiguration_FailsOnStart(string key, string value, string message)
    {
        using var host = Build(new() { [key] = value });

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));

        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void OpenAIBackendWithoutModel_IsInvalid()
    {
        var options = new InferenceOptions();
        options.Backends["llm"] = new BackendOptions { Kind = BackendKind.OpenAI, BaseUrl = "http://localhost:8000/v1" };
        options.Routes["default"] = ["llm"];

        var ex = Assert.Throws<OptionsValidationException>(() => new ModelRouter(Options.Create(options), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<ModelRouter>.Instance));

        Assert.Contains("Model is required", ex.Message);
    }

    [Fact]
    public async Task RouteBudgets_AndTokenizers_ComeFromConfiguration_WithDefaultsForTheRest()
    {
        using var host = Build(new()
        {
            ["Inference:Backends:sim:Tokenizer"] = "cl100k_base",
            ["Inference:Backends:est:Tokenizer"] = "chars",
            ["Inference:Routes:default:0"] = "sim",
            ["Inference:Routes:cheap:0"] = "est",
            ["Inference:Routes:cheap:1"] = "sim",
            ["Inference:RouteBudgets:cheap:ContextTokens"] = "2048",
        });
        await host.StartAsync(Ct);
        var router = host.Services.GetRequiredService<ModelRouter>();

        var main = router.BudgetFor("default");
        var cheap = router.BudgetFor("CHEAP");
        var unknown = router.BudgetFor("nowhere");

        Assert.Equal(("cl100k_base", 8192, 512, 7680), (main.Tokenizer.Name, main.ContextTokens, main.ReplyReserveTokens, main.PromptTokens));
        // A route counts by its first backend's tokenizer.
        Assert.Equal(("chars", 2048, 512), (cheap.Tokenizer.Name, cheap.ContextTokens, cheap.ReplyReserveTokens));
        Assert.Equal(("chars", 8192), (unknown.Tokenizer.Name, unknown.ContextTokens));
        await host.StopAsync(Ct);
    }
}
