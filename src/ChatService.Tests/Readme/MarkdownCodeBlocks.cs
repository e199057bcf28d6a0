namespace ChatService.Tests.Readme;

/// <summary>Finds the <c>```</c>-fenced code blocks of a Markdown document.</summary>
public static class MarkdownCodeBlocks
{
    private const string Fence = "```";

    public static IReadOnlyList<CodeBlock> Read(string markdown)
    {
        var lines = markdown.ReplaceLineEndings("\n").Split('\n');
        var blocks = new List<CodeBlock>();
        for (var i = 0; i < lines.Length; i++)
        {
            var opening = lines[i].TrimStart();
            if (!opening.StartsWith(Fence, StringComparison.Ordinal))
            {
                continue;
            }

            var info = opening[Fence.Length..].Trim();
            var language = info.Split(' ', 2)[0];
            var end = i + 1;
            while (end < lines.Length && lines[end].Trim() != Fence)
            {
                end++;
            }

            if (end == lines.Length)
            {
                throw new FormatException($"The code block opened on line {i + 1} is never closed.");
            }

            blocks.Add(new CodeBlock(language, i + 2, string.Join('\n', lines[(i + 1)..end])));
            i = end;
        }

        return blocks;
    }
}
