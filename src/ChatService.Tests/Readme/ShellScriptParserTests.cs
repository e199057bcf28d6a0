namespace ChatService.Tests.Readme;

public sealed class ShellScriptParserTests
{
    private static readonly Dictionary<string, string> NoVariables = [];

    [Fact]
    public void Quotes_AreRemoved_AsBashDoes()
    {
        var statement = Assert.Single(ShellScriptParser.Parse("""grpcurl -H 'x-user-id: alice' -d "{\"a\":\"b\\c\"}" a'b'"c"d"""));

        Assert.Equal(["grpcurl", "-H", "x-user-id: alice", "-d", """{"a":"b\c"}""", "abcd"], Words(statement));
    }

    [Fact]
    public void SingleQuotes_KeepEverythingLiteral()
    {
        var statement = Assert.Single(ShellScriptParser.Parse("""echo '$CHAT \" # |' "a \x $ b" """));

        Assert.Equal(["echo", """$CHAT \" # |""", """a \x $ b"""], Words(statement));
    }

    [Fact]
    public void Variables_InDoubleQuotes_ExpandWhenTheCommandRuns()
    {
        var statement = Assert.Single(ShellScriptParser.Parse("""grpcurl -d "{\"chat_id\":\"$CHAT\",\"c\":\"${CHARACTER}x\"}" """));
        var data = statement.Pipeline[0].Words[2];

        Assert.Equal("""{"chat_id":"${CHAT}","c":"${CHARACTER}x"}""", data.ToString());
        Assert.Equal("""{"chat_id":"c1","c":"ch2x"}""", data.Expand(new Dictionary<string, string> { ["CHAT"] = "c1", ["CHARACTER"] = "ch2" }));
        var unset = Assert.Throws<KeyNotFoundException>(() => data.Expand(NoVariables));
        Assert.Contains("$CHAT is not set", unset.Message);
    }

    [Fact]
    public void Continuations_JoinLines_AndStatementsKeepTheirFirstLine()
    {
        var script = """
            # A comment \
            grpcurl -plaintext \
              -d '{}' \
              localhost:50051 list   # trailing comment

            grpcurl b
            """;

        var statements = ShellScriptParser.Parse(script, firstLine: 10);

        Assert.Equal([11, 15], statements.Select(s => s.Line));
        Assert.Equal(["grpcurl", "-plaintext", "-d", "{}", "localhost:50051", "list"], Words(statements[0]));
        Assert.StartsWith("grpcurl -plaintext \\\n", statements[0].Source);
        Assert.Equal(["grpcurl", "b"], Words(statements[1]));
    }

    [Fact]
    public void CommandSubstitutionAssignment_KeepsItsPipelineAndVariable()
    {
        var script = """
            CHAT=$(grpcurl -plaintext -d "{\"id\":\"$X\"}" \
              localhost:50051 chat.v1.ChatService/CreateChat | jq -r .chatId)  # the new chat
            """;

        var statement = Assert.Single(ShellScriptParser.Parse(script));

        Assert.Equal("CHAT", statement.AssignTo);
        Assert.Equal(2, statement.Pipeline.Count);
        Assert.Equal(["jq", "-r", ".chatId"], statement.Pipeline[1].Expand(NoVariables));
        Assert.Equal("""{"id":"${X}"}""", statement.Pipeline[0].Words[3].ToString());
    }

    [Fact]
    public void EmptyQuotes_AreAnEmptyArgument()
    {
        var statement = Assert.Single(ShellScriptParser.Parse("grpcurl '' \"\""));

        Assert.Equal(["grpcurl", "", ""], Words(statement));
    }

    [Theory]
    [InlineData("grpcurl a; grpcurl b", "';' outside quotes")]
    [InlineData("grpcurl a && grpcurl b", "'&' outside quotes")]
    [InlineData("grpcurl a || grpcurl b", "||")]
    [InlineData("grpcurl a > out.json", "'>' outside quotes")]
    [InlineData("grpcurl -d $CHAT", "unquoted $")]
    [InlineData("grpcurl -d \"$(cat x)\"", "$(...) inside double quotes")]
    [InlineData("grpcurl -d \"`cat x`\"", "` command substitution")]
    [InlineData("grpcurl -d \"${CHAT:-x}\"", "only ${NAME}")]
    [InlineData("grpcurl -d \"$1\"", "special parameter $1")]
    [InlineData("grpcurl *.json", "'*' outside quotes")]
    [InlineData("grpcurl ~/x", "'~' outside quotes")]
    [InlineData("CHAT=abc", "only NAME=$(command) assignments")]
    [InlineData("CHAT=$(grpcurl a) grpcurl b", "only a comment may follow")]
    [InlineData("CHAT=$(grpcurl a", "$( is never closed")]
    [InlineData("grpcurl 'a", "' is never closed")]
    [InlineData("grpcurl \"a", "\" is never closed")]
    [InlineData("grpcurl a |", "empty command")]
    public void UnsupportedOrMalformed_FailsNamingTheLine(string line, string reason)
    {
        var e = Assert.Throws<ShellSyntaxException>(() => ShellScriptParser.Parse("# first\n\n" + line, firstLine: 40));

        Assert.Equal(42, e.Line);
        Assert.Contains(reason, e.Reason);
        Assert.Contains(line, e.Message);
    }

    [Fact]
    public void LineBreakInsideSubstitution_IsRefused()
    {
        var e = Assert.Throws<ShellSyntaxException>(() => ShellScriptParser.Parse("X=$(grpcurl a\n | jq -r .a)"));

        Assert.Equal(1, e.Line);
        Assert.Contains("must be on one line", e.Reason);
    }

    private static string[] Words(ShellStatement statement) =>
        Assert.Single(statement.Pipeline).Expand(NoVariables);
}
