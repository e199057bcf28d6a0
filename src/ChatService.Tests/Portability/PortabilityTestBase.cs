using System.Text;
using System.Text.Json.Nodes;
using ChatService.Api.V1;
using ChatService.Tests.Api;
using Google.Protobuf;
using Grpc.Core;

namespace ChatService.Tests.Portability;

/// <summary>Helpers for the export and import tests: whole exports as text, imports from text, and what a chat stores.</summary>
public abstract class PortabilityTestBase(PortabilityFixture fixture) : ApiTestBase(fixture)
{
    protected new PortabilityFixture Fixture { get; } = fixture;

    /// <summary>An ExportChat stream as one text (its chunks' bytes concatenated), checking every chunk is the chat part of at most 64 KiB and the file ends at a line's end.</summary>
    protected async Task<string> ExportAsync(string userId, string chatId, ChatExportFormat format)
    {
        using var call = Fixture.Client(userId).ExportChat(new ExportChatRequest { ChatId = chatId, Format = format }, cancellationToken: Ct);
        var bytes = new MemoryStream();
        await foreach (var chunk in call.ResponseStream.ReadAllAsync(Ct))
        {
            Assert.Equal("chat.jsonl", chunk.Part);
            Assert.InRange(chunk.Data.Length, 1, 64 * 1024);
            chunk.Data.WriteTo(bytes);
        }

        var text = Encoding.UTF8.GetString(bytes.ToArray());
        Assert.EndsWith("\n", text);
        return text;
    }

    protected async Task<ImportChatResponse> ImportAsync(string userId, string requestId, ChatExportFormat format, string file, params string[] characterIds) =>
        await Fixture.Client(userId).ImportChatAsync(new ImportChatRequest
        {
            RequestId = requestId,
            Format = format,
            Data = ByteString.CopyFromUtf8(file),
            CharacterIds = { characterIds },
        }, cancellationToken: Ct);

    /// <summary>The lines of an export as JSON objects.</summary>
    protected static List<JsonObject> Lines(string export) =>
        [.. export.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonNode.Parse(line)!.AsObject())];

    /// <summary>Rows of the chat's tables, to prove a refused import wrote nothing.</summary>
    protected async Task<string> RowsAsync() =>
        $"{await Fixture.SnapshotAsync()}, TurnRevisions={await Fixture.CountAsync("SELECT COUNT(*) FROM TurnRevisions")}, " +
        $"Ratings={await Fixture.CountAsync("SELECT COUNT(*) FROM Ratings")}, ChatImports={await Fixture.CountAsync("SELECT COUNT(*) FROM ChatImports")}";

}
