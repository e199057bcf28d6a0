namespace ChatService.Tests.Readme;

/// <summary>A piece of a shell word: literal text, or the name of a variable expanded when the command runs.</summary>
public readonly record struct ShellWordPart(string Text, bool IsVariable)
{
    public static ShellWordPart Literal(string text) => new(text, false);

    public static ShellWordPart Variable(string name) => new(name, true);
}
