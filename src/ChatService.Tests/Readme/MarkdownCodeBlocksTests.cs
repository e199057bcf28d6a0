namespace ChatService.Tests.Readme;

public sealed class MarkdownCodeBlocksTests
{
    [Fact]
    public void Blocks_KeepLanguageFirstLineAndText()
    {
        var markdown = "# Title\n\n```bash\na \\\n  b\n```\ntext\n```\nplain\n```\n";

        var blocks = MarkdownCodeBlocks.Read(markdown);

        Assert.Equal([new CodeBlock("bash", 4, "a \\\n  b"), new CodeBlock("", 9, "plain")], blocks);
    }

    [Fact]
    public void UnclosedBlock_IsRefused()
    {
        Assert.Throws<FormatException>(() => MarkdownCodeBlocks.Read("```bash\ngrpcurl\n"));
    }
}
