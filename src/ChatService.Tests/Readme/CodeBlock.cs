namespace ChatService.Tests.Readme;

/// <summary>A fenced code block of a Markdown file.</summary>
/// <param name="Language">The fence's info string up to the first space (<c>bash</c>), empty when none.</param>
/// <param name="FirstLine">The 1-based line number of the block's first line of content.</param>
/// <param name="Text">The content, lines joined with <c>\n</c>, without the fences.</param>
public sealed record CodeBlock(string Language, int FirstLine, string Text);
