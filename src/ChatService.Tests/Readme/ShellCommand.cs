namespace ChatService.Tests.Readme;

/// <summary>A simple command: its program name and arguments (one stage of a pipeline).</summary>
public sealed record ShellCommand(IReadOnlyList<ShellWord> Words)
{
    public string[] Expand(IReadOnlyDictionary<string, string> variables) =>
        Words.Select(word => word.Expand(variables)).ToArray();
}
