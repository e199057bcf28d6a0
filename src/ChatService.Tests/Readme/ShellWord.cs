using System.Text;

namespace ChatService.Tests.Readme;

/// <summary>One argument of a command, after quote removal, with its <c>$VAR</c> expansions still open.</summary>
public sealed class ShellWord(IReadOnlyList<ShellWordPart> parts)
{
    public IReadOnlyList<ShellWordPart> Parts { get; } = parts;

    /// <summary>The word with its variables replaced; an unset variable is an error, not an empty string.</summary>
    public string Expand(IReadOnlyDictionary<string, string> variables)
    {
        var text = new StringBuilder();
        foreach (var part in Parts)
        {
            if (!part.IsVariable)
            {
                text.Append(part.Text);
            }
            else if (variables.TryGetValue(part.Text, out var value))
            {
                text.Append(value);
            }
            else
            {
                throw new KeyNotFoundException($"${part.Text} is not set (no earlier command assigns it)");
            }
        }

        return text.ToString();
    }

    /// <summary>The word with variables written as <c>${NAME}</c>, for messages and tests.</summary>
    public override string ToString() =>
        string.Concat(Parts.Select(part => part.IsVariable ? "${" + part.Text + "}" : part.Text));
}
