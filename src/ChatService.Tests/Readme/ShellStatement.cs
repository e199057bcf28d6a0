namespace ChatService.Tests.Readme;

/// <summary>
/// One statement of a script: a pipeline, run for its output, or <c>NAME=$(pipeline)</c>, which
/// keeps the output (less trailing newlines) as a variable for later statements.
/// </summary>
/// <param name="Line">The line the statement starts on, numbered as in the file it came from.</param>
/// <param name="Source">The statement's text as written (continuation lines included).</param>
/// <param name="AssignTo">The variable the output goes to, or null.</param>
/// <param name="Pipeline">The commands joined by <c>|</c>, in order.</param>
public sealed record ShellStatement(int Line, string Source, string? AssignTo, IReadOnlyList<ShellCommand> Pipeline);
