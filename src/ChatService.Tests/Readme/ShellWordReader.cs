using System.Text;

namespace ChatService.Tests.Readme;

/// <summary>
/// Reads one shell word as bash does: quote removal, <c>\</c> escapes, and <c>$VAR</c> /
/// <c>${VAR}</c> inside double quotes kept as variables to expand when the command runs.
/// Constructs bash would give another meaning throw <see cref="ShellSyntaxException"/>.
/// </summary>
public static class ShellWordReader
{
    /// <summary>Characters that mean something to bash outside quotes and are not supported here.</summary>
    private const string Unsupported = ";&<>(`*?[{";

    /// <summary>The word at <paramref name="cursor"/>, up to a blank, a newline, <c>|</c> or (in a substitution) <c>)</c>.</summary>
    public static ShellWord Read(ShellCursor cursor, bool inSubstitution)
    {
        var parts = new List<ShellWordPart>();
        var literal = new StringBuilder();
        while (!cursor.AtEnd)
        {
            var c = cursor.Current;
            if (c is ' ' or '\t' or '\n' or '|' || (c == ')' && inSubstitution))
            {
                break;
            }

            if (c == '\\')
            {
                cursor.Advance();
                if (cursor.AtEnd)
                {
                    throw cursor.Error("\\ at the end of the script");
                }

                // \-newline joins the lines; any other escaped character stands for itself.
                var escaped = cursor.Advance();
                if (escaped != '\n')
                {
                    literal.Append(escaped);
                }
            }
            else if (c == '\'')
            {
                ReadSingleQuoted(cursor, literal);
            }
            else if (c == '"')
            {
                ReadDoubleQuoted(cursor, parts, literal);
            }
            else if (c == '$')
            {
                throw cursor.Error("unquoted $ expansions are not supported (bash would split the value into words): put it in double quotes");
            }
            else if (Unsupported.Contains(c) || (c == '~' && parts.Count == 0 && literal.Length == 0))
            {
                throw cursor.Error($"'{c}' outside quotes is not supported");
            }
            else
            {
                literal.Append(cursor.Advance());
            }
        }

        Flush(parts, literal);
        return new ShellWord(parts);
    }

    private static void ReadSingleQuoted(ShellCursor cursor, StringBuilder literal)
    {
        var line = cursor.Line;
        cursor.Advance();
        while (!cursor.AtEnd && cursor.Current != '\'')
        {
            literal.Append(cursor.Advance());
        }

        if (cursor.AtEnd)
        {
            throw cursor.Error("' is never closed", line);
        }

        cursor.Advance();
    }

    private static void ReadDoubleQuoted(ShellCursor cursor, List<ShellWordPart> parts, StringBuilder literal)
    {
        var line = cursor.Line;
        cursor.Advance();
        while (true)
        {
            if (cursor.AtEnd)
            {
                throw cursor.Error("\" is never closed", line);
            }

            var c = cursor.Advance();
            switch (c)
            {
                case '"':
                    return;
                case '\\' when !cursor.AtEnd && cursor.Current == '\n':
                    cursor.Advance();
                    break;
                case '\\' when !cursor.AtEnd && cursor.Current is '"' or '\\' or '$' or '`':
                    literal.Append(cursor.Advance());
                    break;
                case '`':
                    throw cursor.Error("` command substitution is not supported");
                case '$':
                    ReadExpansion(cursor, parts, literal);
                    break;
                default:
                    literal.Append(c);
                    break;
            }
        }
    }

    /// <summary>After a <c>$</c> in double quotes: <c>NAME</c> or <c>{NAME}</c>; a <c>$</c> followed by nothing special is itself.</summary>
    private static void ReadExpansion(ShellCursor cursor, List<ShellWordPart> parts, StringBuilder literal)
    {
        var next = cursor.AtEnd ? '\0' : cursor.Current;
        string name;
        if (next == '{')
        {
            cursor.Advance();
            name = ReadName(cursor);
            if (name.Length == 0 || cursor.AtEnd || cursor.Current != '}')
            {
                throw cursor.Error("only ${NAME} is supported among the ${...} expansions");
            }

            cursor.Advance();
        }
        else if (char.IsAsciiLetter(next) || next == '_')
        {
            name = ReadName(cursor);
        }
        else if (next == '(')
        {
            throw cursor.Error("$(...) inside double quotes is not supported");
        }
        else if (char.IsAsciiDigit(next) || "?@*#!$-".Contains(next))
        {
            throw cursor.Error($"the special parameter ${next} is not supported");
        }
        else
        {
            literal.Append('$');
            return;
        }

        Flush(parts, literal);
        parts.Add(ShellWordPart.Variable(name));
    }

    private static string ReadName(ShellCursor cursor)
    {
        var start = cursor.Position;
        while (!cursor.AtEnd && (char.IsAsciiLetterOrDigit(cursor.Current) || cursor.Current == '_'))
        {
            cursor.Advance();
        }

        return cursor.Text[start..cursor.Position];
    }

    private static void Flush(List<ShellWordPart> parts, StringBuilder literal)
    {
        if (literal.Length > 0)
        {
            parts.Add(ShellWordPart.Literal(literal.ToString()));
            literal.Clear();
        }
    }
}
