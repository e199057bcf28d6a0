namespace ChatService.Tests.Readme;

/// <summary>
/// Parses the little bash that the README's examples are written in, the way bash reads it:
/// <c>\</c>-newline continuations, <c>#</c> comments, single quotes, double quotes (with
/// <c>\"</c>, <c>\\</c>, <c>\$</c> escapes and <c>$VAR</c> / <c>${VAR}</c> expansions), pipelines
/// with <c>|</c>, and <c>NAME=$(pipeline)</c> assignments. Anything else bash would treat
/// specially (<c>;</c>, <c>&amp;&amp;</c>, redirections, globs, unquoted or special expansions,
/// backquotes...) throws <see cref="ShellSyntaxException"/> naming the line, rather than being
/// read wrongly or skipped. Words are read by <see cref="ShellWordReader"/>.
/// </summary>
public static class ShellScriptParser
{
    /// <summary>The statements of <paramref name="script"/>, whose first line is line <paramref name="firstLine"/> of its file.</summary>
    public static IReadOnlyList<ShellStatement> Parse(string script, int firstLine = 1)
    {
        var cursor = new ShellCursor(script, firstLine);
        var statements = new List<ShellStatement>();
        while (true)
        {
            cursor.SkipBlanks();
            if (cursor.AtEnd)
            {
                return statements;
            }

            if (cursor.Current == '\n')
            {
                cursor.Advance();
            }
            else if (cursor.Current == '#')
            {
                cursor.SkipComment();
            }
            else
            {
                statements.Add(ParseStatement(cursor));
            }
        }
    }

    private static ShellStatement ParseStatement(ShellCursor cursor)
    {
        var start = cursor.Position;
        var line = cursor.FileLine;
        var variable = TryReadAssignment(cursor);
        IReadOnlyList<ShellCommand> pipeline;
        if (variable is null)
        {
            pipeline = ParsePipeline(cursor, inSubstitution: false);
        }
        else
        {
            if (!cursor.At("$("))
            {
                throw cursor.Error($"only NAME=$(command) assignments are supported, not this one to {variable}");
            }

            cursor.Position += 2;
            pipeline = ParsePipeline(cursor, inSubstitution: true);
            cursor.SkipBlanks();
            if (!cursor.AtEnd && cursor.Current is not ('\n' or '#'))
            {
                throw cursor.Error("only a comment may follow NAME=$(...) on its line");
            }
        }

        return new ShellStatement(line, cursor.Text[start..cursor.Position].Trim(), variable, pipeline);
    }

    /// <summary>Reads <c>NAME=</c> when the statement starts with one; null when it does not.</summary>
    private static string? TryReadAssignment(ShellCursor cursor)
    {
        var text = cursor.Text;
        var start = cursor.Position;
        var end = start;
        while (end < text.Length && (char.IsAsciiLetter(text[end]) || text[end] == '_' || (end > start && char.IsAsciiDigit(text[end]))))
        {
            end++;
        }

        if (end == start || end == text.Length || text[end] != '=')
        {
            return null;
        }

        cursor.Position = end + 1;
        return text[start..end];
    }

    /// <summary>Commands separated by <c>|</c>, up to the end of the line (or the <c>)</c> closing a substitution).</summary>
    private static List<ShellCommand> ParsePipeline(ShellCursor cursor, bool inSubstitution)
    {
        var commands = new List<ShellCommand>();
        var words = new List<ShellWord>();
        while (true)
        {
            cursor.SkipBlanks();
            if (cursor.AtEnd || cursor.Current is '\n' or '#')
            {
                if (inSubstitution)
                {
                    throw cursor.Error(cursor.AtEnd ? "$( is never closed" : "$(...) must be on one line (continue it with \\)");
                }

                EndCommand(cursor, commands, words);
                return commands;
            }

            if (cursor.Current == ')' && inSubstitution)
            {
                cursor.Advance();
                EndCommand(cursor, commands, words);
                return commands;
            }

            if (cursor.Current == '|')
            {
                cursor.Advance();
                if (!cursor.AtEnd && cursor.Current == '|')
                {
                    throw cursor.Error("|| is not supported");
                }

                EndCommand(cursor, commands, words);
                continue;
            }

            words.Add(ShellWordReader.Read(cursor, inSubstitution));
        }
    }

    private static void EndCommand(ShellCursor cursor, List<ShellCommand> commands, List<ShellWord> words)
    {
        if (words.Count == 0)
        {
            throw cursor.Error("empty command");
        }

        commands.Add(new ShellCommand(words.ToArray()));
        words.Clear();
    }
}
