using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ChatService.Tests.Readme;

/// <summary>
/// The one jq program the README uses: <c>jq -r .a.b</c>, a field path printed raw. It runs on
/// every JSON value of its input, as jq does on grpcurl's one-object-per-message output. Any other
/// option or program is refused with <see cref="NotSupportedException"/>.
/// </summary>
public sealed partial class JqFieldPath
{
    private JqFieldPath(string program, IReadOnlyList<string> fields)
    {
        Program = program;
        Fields = fields;
    }

    public string Program { get; }

    public IReadOnlyList<string> Fields { get; }

    /// <summary>Reads jq's arguments (without the program name <c>jq</c>).</summary>
    public static JqFieldPath Parse(IReadOnlyList<string> arguments)
    {
        if (arguments.Count != 2 || arguments[0] != "-r")
        {
            throw new NotSupportedException(
                $"only 'jq -r <field path>' is supported, not 'jq {string.Join(' ', arguments)}'");
        }

        var program = arguments[1];
        if (!FieldPathPattern().IsMatch(program))
        {
            throw new NotSupportedException($"the jq program '{program}' is not supported: only field paths like .a.b are");
        }

        return new JqFieldPath(program, program.Split('.', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>
    /// One result per JSON value of <paramref name="input"/>: a string as is, null when a field is
    /// missing (jq prints <c>null</c>), anything else as JSON.
    /// </summary>
    public IReadOnlyList<string?> Run(string input)
    {
        var results = new List<string?>();
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(input), new JsonReaderOptions { AllowMultipleValues = true });
        while (reader.Read())
        {
            using var document = JsonDocument.ParseValue(ref reader);
            results.Add(Select(document.RootElement));
        }

        return results;
    }

    /// <summary>What <c>jq -r</c> prints for <paramref name="input"/>: each result on a line of its own.</summary>
    public string Print(string input) => string.Concat(Run(input).Select(result => (result ?? "null") + "\n"));

    private string? Select(JsonElement value)
    {
        foreach (var field in Fields)
        {
            if (value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (value.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidOperationException($"jq: cannot index {value.ValueKind} with \"{field}\" ({Program})");
            }

            if (!value.TryGetProperty(field, out value))
            {
                return null;
            }
        }

        return value.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.String => value.GetString(),
            _ => value.GetRawText(),
        };
    }

    [GeneratedRegex(@"^(\.[A-Za-z_][A-Za-z0-9_]*)+$")]
    private static partial Regex FieldPathPattern();
}
