namespace ChatService.Tests.Readme;

/// <summary>
/// A position in a shell script for <see cref="ShellScriptParser"/> and <see cref="ShellWordReader"/>:
/// the character there, the line it is on (numbered as in the file the script came from), and
/// errors that name that line.
/// </summary>
public sealed class ShellCursor
{
    private readonly string[] _lines;
    private readonly int _firstLine;

    public ShellCursor(string script, int firstLine)
    {
        Text = script.ReplaceLineEndings("\n");
        _lines = Text.Split('\n');
        _firstLine = firstLine;
    }

    public string Text { get; }

    public int Position { get; set; }

    /// <summary>The 0-based line of <see cref="Position"/> within the script.</summary>
    public int Line { get; private set; }

    /// <summary>The line of <see cref="Position"/> as numbered in the file.</summary>
    public int FileLine => _firstLine + Line;

    public bool AtEnd => Position >= Text.Length;

    public char Current => Text[Position];

    public bool At(string text) => Text.AsSpan(Position).StartsWith(text);

    public char Advance()
    {
        var c = Text[Position++];
        if (c == '\n')
        {
            Line++;
        }

        return c;
    }

    /// <summary>Spaces, tabs and <c>\</c>-newline continuations between words.</summary>
    public void SkipBlanks()
    {
        while (!AtEnd)
        {
            if (Current is ' ' or '\t')
            {
                Advance();
            }
            else if (At("\\\n"))
            {
                Advance();
                Advance();
            }
            else
            {
                return;
            }
        }
    }

    /// <summary>A comment runs to the end of its line (a trailing <c>\</c> does not continue it).</summary>
    public void SkipComment()
    {
        while (!AtEnd && Current != '\n')
        {
            Advance();
        }
    }

    /// <summary>An error about the current line, or about <paramref name="line"/> (0-based) when given.</summary>
    public ShellSyntaxException Error(string reason, int? line = null)
    {
        var index = Math.Min(line ?? Line, _lines.Length - 1);
        return new ShellSyntaxException(_firstLine + index, _lines[index], reason);
    }
}
