using System.Text.RegularExpressions;
using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;
using ChatService.Tests.Readme;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Microsoft.Extensions.Configuration;
using Xunit.Sdk;

namespace ChatService.Tests.Api;

/// <summary>
/// The grpcurl examples of README.md, run in order against the service, so they cannot drift
/// from it. They had never been run: grpcurl is not installable on the machines the project is
/// built on, and nothing else read them. So this test reads every <c>```bash</c> block that
/// mentions grpcurl, parses its shell (what bash would do with the quotes, continuations and
/// <c>VAR=$(grpcurl ... | jq -r .path)</c> variables; anything else fails naming the README
/// line), and does what grpcurl would do with each command on the service hosted in process:
/// methods resolved through server reflection, JSON requests, the -H headers as metadata, one
/// JSON object printed per response message. The README's address must be the configured gRPC
/// port on localhost (and -plaintext its h2c); the call then goes over the fixture's channel. A
/// non-OK status fails the test as grpcurl's exit code would fail the reader's script, and so
/// does a jq path that picks nothing.
/// </summary>
public sealed class ReadmeGrpcurlExamplesTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    private static readonly TypeRegistry CompiledTypes =
        TypeRegistry.FromFiles(ChatReflection.Descriptor, HealthReflection.Descriptor, ReflectionReflection.Descriptor);

    [Fact]
    public async Task GrpcurlExamples_RunInOrder_AgainstTheService()
    {
        var statements = ReadExamples();
        var grpcAddress = GrpcAddress(out var plaintext);
        var grpcurl = new GrpcurlClient(Fixture.Invoker, CompiledTypes);
        var variables = new Dictionary<string, string>();
        foreach (var statement in statements)
        {
            Log($"$ {statement.Source}");
            try
            {
                var output = await RunAsync(statement, variables, grpcurl, grpcAddress, plaintext);
                if (statement.AssignTo is { } name)
                {
                    // $(...) drops the trailing newlines.
                    variables[name] = output.TrimEnd('\n');
                    Log($"{name}={variables[name]}");
                }
                else
                {
                    Log(output);
                }
            }
            catch (RpcException e)
            {
                Assert.Fail($"{Where(statement)}\ngrpcurl would exit with {e.StatusCode}: {e.Status.Detail}");
            }
            catch (Exception e) when (e is not IAssertionException)
            {
                // An unsupported construct, an unset variable, JSON the request type does not take, a method reflection does not know...
                Assert.Fail($"{Where(statement)}\n{e.GetType().Name}: {e.Message}");
            }
        }
    }

    [Fact]
    public async Task Method_WithoutACompiledType_IsRefused()
    {
        // Reflection finds the method, but nothing compiled can read or print its messages.
        var grpcurl = new GrpcurlClient(Fixture.Invoker, TypeRegistry.FromFiles(HealthReflection.Descriptor));
        var invocation = GrpcurlInvocation.Parse(["-plaintext", "localhost:50051", "chat.v1.ChatService/ListChats"]);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => grpcurl.RunAsync(invocation, Ct));

        Assert.Contains("no compiled message type chat.v1.ListChatsRequest", e.Message);
    }

    /// <summary>Runs <c>grpcurl ...</c>, optionally piped into <c>jq -r .path</c>; returns what the pipeline prints.</summary>
    private async Task<string> RunAsync(ShellStatement statement, Dictionary<string, string> variables, GrpcurlClient grpcurl,
        string grpcAddress, bool plaintext)
    {
        var stages = statement.Pipeline.Select(command => command.Expand(variables)).ToList();
        if (stages is not ([["grpcurl", ..]] or [["grpcurl", ..], ["jq", ..]]))
        {
            throw new NotSupportedException("only grpcurl, alone or piped into jq, is supported in the README's grpcurl blocks");
        }

        var invocation = GrpcurlInvocation.Parse(stages[0][1..]);
        Assert.True(invocation.Address == grpcAddress,
            $"{Where(statement)}\ntargets {invocation.Address}, but the service listens for gRPC on {grpcAddress}");
        Assert.True(invocation.Plaintext == plaintext,
            $"{Where(statement)}\n{(plaintext ? "without -plaintext grpcurl uses TLS, which the gRPC port does not speak" : "-plaintext, but the port speaks TLS")}");

        var output = await grpcurl.RunAsync(invocation, Ct);
        if (invocation.IsList)
        {
            var services = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains("chat.v1.ChatService", services);
            Assert.Contains("grpc.health.v1.Health", services);
        }

        if (stages.Count == 1)
        {
            return output;
        }

        var jq = JqFieldPath.Parse(stages[1][1..]);
        var results = jq.Run(output);
        Assert.True(results.Count > 0 && results.All(result => !string.IsNullOrEmpty(result)),
            $"{Where(statement)}\njq {jq.Program} picks nothing from what {invocation.Method} printed:\n{output}");
        return jq.Print(output);
    }

    /// <summary>Every statement of the bash blocks that mention grpcurl, in README order.</summary>
    private List<ShellStatement> ReadExamples()
    {
        var readme = File.ReadAllText(Path.Combine(Fixture.Stack.RepoRoot, "README.md"));
        var blocks = MarkdownCodeBlocks.Read(readme).Where(block => Regex.IsMatch(block.Text, @"\bgrpcurl\b")).ToList();
        Assert.NotEmpty(blocks);
        var statements = new List<ShellStatement>();
        foreach (var block in blocks)
        {
            Assert.True(block.Language == "bash",
                $"README.md line {block.FirstLine - 1}: a ```{block.Language} block with grpcurl in it; examples go in ```bash blocks, which this test runs");
            try
            {
                statements.AddRange(ShellScriptParser.Parse(block.Text, block.FirstLine));
            }
            catch (ShellSyntaxException e)
            {
                Assert.Fail($"README.md {e.Message}");
            }
        }

        Assert.NotEmpty(statements);
        return statements;
    }

    /// <summary>The <c>host:port</c> the README should target: localhost at the configured gRPC endpoint's port.</summary>
    private string GrpcAddress(out bool plaintext)
    {
        var configuration = Fixture.Service<IConfiguration>();
        var url = configuration["Kestrel:Endpoints:Grpc:Url"];
        Assert.NotNull(url);
        var uri = new Uri(url);
        plaintext = uri.Scheme == Uri.UriSchemeHttp;
        // grpcurl -plaintext speaks HTTP/2 with prior knowledge (h2c): a plain port must be HTTP/2 only,
        // since Kestrel serves only HTTP/1.1 on a plain port that allows both.
        Assert.True(!plaintext || configuration["Kestrel:Endpoints:Grpc:Protocols"] == "Http2",
            "the gRPC endpoint is plain HTTP but not HTTP/2-only, so grpcurl -plaintext could not call it");
        return $"localhost:{uri.Port}";
    }

    private static string Where(ShellStatement statement) => $"README.md line {statement.Line}: {statement.Source}";

    private static void Log(string text) => TestContext.Current.TestOutputHelper?.WriteLine(text.TrimEnd('\n'));
}
