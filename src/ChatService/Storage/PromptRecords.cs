using System.IO.Compression;
using System.Text.Json;
using ChatService.Chats;
using ChatService.Inference;
using Microsoft.Extensions.AI;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// How an assembled prompt is kept: its section counts as a small JSON object (on every model call,
/// and with the stored prompt), and its messages once per candidate, gzipped JSON, bounded in size.
/// </summary>
internal static class PromptRecords
{
    /// <summary>The section counts as the log stores them, e.g. <c>{"tokenizer":"o200k_base","total":93,"system":60,...}</c>.</summary>
    public static string Sections(AssembledPrompt prompt)
    {
        using var buffer = new MemoryStream(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("tokenizer", prompt.Tokenizer);
            json.WriteNumber("total", prompt.TotalTokens);
            json.WriteNumber("budget", prompt.BudgetTokens);
            for (var i = 0; i < AssembledPrompt.SectionCount; i++)
            {
                json.WriteNumber(AssembledPrompt.SectionNames[i], prompt.SectionTokens[i]);
            }

            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>The messages, gzipped JSON; null when that is over <paramref name="maxBytes"/>.</summary>
    public static byte[]? Messages(IReadOnlyList<ChatMessage> messages, int maxBytes)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        using (var json = new Utf8JsonWriter(gzip))
        {
            json.WriteStartArray();
            foreach (var message in messages)
            {
                json.WriteStartObject();
                json.WriteString("role", message.Role.Value);
                json.WriteString("content", message.Text);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return buffer.Length > maxBytes ? null : buffer.ToArray();
    }

    /// <summary>
    /// The stored prompt row of a settled candidate, for the settle commit to buffer, with its
    /// <see cref="Sections"/> and <see cref="Messages"/> (null: over the bound) encoded beforehand.
    /// </summary>
    public static SpannerMutation Row(ReplyKey key, AssembledPrompt prompt, string sections, byte[]? messages) =>
        SpannerMutation.InsertOrUpdate("CandidatePrompts")
            .Set("ChatId", key.ChatId)
            .Set("Seq", key.Seq)
            .Set("CandidateId", key.CandidateId)
            .Set("Tokenizer", prompt.Tokenizer)
            .Set("BudgetTokens", (long)prompt.BudgetTokens)
            .Set("TotalTokens", (long)prompt.TotalTokens)
            .Set("Sections", sections)
            .Set("Messages", messages)
            .Set("StoreTime", SpannerCommitTimestamp.Value);

    /// <summary>Reads back what <see cref="Messages"/> wrote.</summary>
    public static IReadOnlyList<StoredPromptMessage> ReadMessages(byte[] stored)
    {
        using var gzip = new GZipStream(new MemoryStream(stored), CompressionMode.Decompress);
        using var document = JsonDocument.Parse(gzip);
        return [.. document.RootElement.EnumerateArray().Select(m => new StoredPromptMessage(m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!))];
    }

    /// <summary>Reads back the section counts of <see cref="Sections"/>, in <see cref="PromptSection"/> order.</summary>
    public static IReadOnlyList<(string Section, int Tokens)> ReadSections(string stored)
    {
        using var document = JsonDocument.Parse(stored);
        return [.. AssembledPrompt.SectionNames.Select(name =>
            (name, document.RootElement.TryGetProperty(name, out var value) ? value.GetInt32() : 0))];
    }
}
