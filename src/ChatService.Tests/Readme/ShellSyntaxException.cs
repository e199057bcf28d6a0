namespace ChatService.Tests.Readme;

/// <summary>
/// Shell text that <see cref="ShellScriptParser"/> does not understand: malformed, or a construct it
/// does not support. The message names the line, so a README edit that needs more of the shell
/// fails with a pointer to itself.
/// </summary>
public sealed class ShellSyntaxException(int line, string lineText, string reason)
    : Exception($"line {line}: {reason}\n    {lineText.Trim()}")
{
    public int Line { get; } = line;

    public string Reason { get; } = reason;
}
