using ChatService.Api.V1;
using Google.Protobuf;
using Grpc.Core;
using ChatClient = ChatService.Api.V1.ChatService.ChatServiceClient;

namespace ChatService.Tests.Hostile;

/// <summary>
/// ExportChat, ExportMyData and ImportChat: exports of what is not the caller's, bad formats, and imports
/// that must be refused (broken files, missing keys, another user's characters) and write nothing.
/// </summary>
internal sealed partial class HostileCases
{
    private HostileCase BadPortability()
    {
        var party = Caller();
        var other = _world.Other(party);
        var chat = AnyChat(party);
        var foreign = AnyChat(other);
        var format = Pick(ChatExportFormat.LosslessJsonl, ChatExportFormat.SillytavernJsonl);
        var (request, generator, allowed, check) = _random.Next(15) switch
        {
            0 => ((IMessage)new ExportChatRequest { ChatId = foreign.ChatId, Format = format }, "export-foreign", NotFound, (Func<object, string?>?)null),
            1 => (new ExportChatRequest { ChatId = Garbage.BadId(_random), Format = format }, "export-bad-id", Invalid, null),
            2 => (new ExportChatRequest { ChatId = chat.ChatId, Format = Pick(ChatExportFormat.Unspecified, (ChatExportFormat)7, (ChatExportFormat)(-1)) }, "export-bad-format", Invalid, null),
            3 => (new ExportChatRequest { ChatId = chat.ChatId, Format = format }, "export-own", Ok, chunks => OwnExportProblem((List<ExportChunk>)chunks)),
            4 => (new ExportMyDataRequest(), "export-my-data", Ok, chunks => MyDataProblem((List<ExportChunk>)chunks, party, other)),
            5 => (Import(party, BrokenFile(), format), "import-broken-line", Invalid, null),
            6 => (Import(party, ValidFile(), Pick(ChatExportFormat.Unspecified, (ChatExportFormat)9)), "import-bad-format", Invalid, null),
            7 => (Import(party, ValidFile(), ChatExportFormat.SillytavernJsonl, requestId: ""), "import-no-request-id", Invalid, null),
            8 => (Import(party, ValidFile(), ChatExportFormat.SillytavernJsonl, requestId: Garbage.BadRequestId(_random)), "import-bad-request-id", Invalid, null),
            9 => (Import(party, ValidFile(), ChatExportFormat.SillytavernJsonl, characterIds: [other.Private.CharacterId]), "import-foreign-character", NotFound, null),
            10 => (Import(party, ValidFile(), ChatExportFormat.SillytavernJsonl, characterIds: [party.Private.CharacterId, Garbage.BadId(_random, allowEmpty: false)]), "import-bad-character-id", Invalid, null),
            11 => (WithNames(Import(party, ValidFile(), ChatExportFormat.SillytavernJsonl), Marker(), party.Quiet.CharacterId), "import-name-outside-cast", Invalid, null),
            12 => (Import(party, ValidFile(), ChatExportFormat.SillytavernJsonl, characterIds: []), "import-st-without-cast", Invalid, null),
            13 => (Import(party, SwipesFile(), ChatExportFormat.SillytavernJsonl), "import-too-many-candidates", Invalid, null),
            _ => (Import(party, "", format), "import-empty", Invalid, null),
        };
        return Case(request, generator, allowed, party.UserId, check);
    }

    /// <summary>An import as <paramref name="party"/> into a chat with <paramref name="characterIds"/> (null: their private character).</summary>
    private ImportChatRequest Import(Party party, string file, ChatExportFormat format, string? requestId = null, IReadOnlyList<string>? characterIds = null) => new()
    {
        RequestId = requestId ?? FreshRequestId(),
        Format = format,
        Data = ByteString.CopyFromUtf8(file),
        CharacterIds = { characterIds ?? [party.Private.CharacterId] },
        Title = Marker(),
    };

    private static ImportChatRequest WithNames(ImportChatRequest request, string name, string characterId)
    {
        request.CharacterNames[name] = characterId;
        return request;
    }

    /// <summary>A SillyTavern file that imports as it is; the requests that carry it are refused for something else.</summary>
    private string ValidFile() =>
        "{\"user_name\":\"Sam\",\"character_name\":\"Ada\",\"chat_metadata\":{}}\n" +
        $"{{\"name\":\"Sam\",\"is_user\":true,\"mes\":\"{Marker()}\"}}\n" +
        $"{{\"name\":\"Ada\",\"is_user\":false,\"mes\":\"{Marker()}\",\"swipes\":[\"{Marker()}\"],\"swipe_id\":0}}\n";

    /// <summary>A SillyTavern file of replies with 32 swipes each, empty or not: the third passes the fixture's Import:MaxCandidates (64).</summary>
    private string SwipesFile()
    {
        var swipes = string.Join(',', Enumerable.Range(0, 32).Select(_ => Pick("\"\"", $"\"{Marker()}\"")));
        return "{\"user_name\":\"Sam\",\"character_name\":\"Ada\",\"chat_metadata\":{}}\n" +
            string.Concat(Enumerable.Range(0, _random.Next(3, 6)).Select(_ => $"{{\"name\":\"Ada\",\"is_user\":false,\"mes\":\"{Marker()}\",\"swipes\":[{swipes}],\"swipe_id\":0}}\n"));
    }

    /// <summary>A file in either format with one bad line among good ones.</summary>
    private string BrokenFile()
    {
        var lines = ValidFile().Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        var bad = Pick(
            "{\"name\":\"Ada\",\"is_user\":false,\"mes\":\"x\",\"swipes\":[\"x\"],\"swipe_id\":99}",
            "{\"name\":\"Sam\",\"is_user\":\"yes\",\"mes\":\"x\"}",
            "{\"name\":\"Sam\",\"is_user\":true}",
            "{\"seq\":-1,\"role\":\"user\"",
            "[1,2,3]",
            "\"just text\"",
            "{\"format\":\"chatservice.chat\",\"version\":99}",
            new string('{', _random.Next(40, 200)));
        lines.Insert(_random.Next(lines.Count + 1), bad);
        return string.Join('\n', lines);
    }

    private static string? OwnExportProblem(List<ExportChunk> chunks)
    {
        if (chunks.Count == 0 || chunks.Any(c => c.Part != "chat.jsonl"))
        {
            return $"ExportChat sent {chunks.Count} chunks, parts {string.Join(',', chunks.Select(c => c.Part).Distinct())}";
        }

        return chunks.All(c => c.Data.Length > 0 && c.Data[^1] == (byte)'\n') ? null : "an ExportChat chunk does not end at a line's end";
    }

    private static string? MyDataProblem(List<ExportChunk> chunks, Party party, Party other)
    {
        var parts = chunks.Select(c => c.Part).Distinct().ToList();
        if (other.Chats.FirstOrDefault(c => parts.Contains($"chats/{c.ChatId}.jsonl")) is { } leaked)
        {
            return $"ExportMyData of {party.UserId} carried {other.UserId}'s chat {leaked.ChatId}";
        }

        var text = string.Concat(chunks.Select(c => c.Data.ToStringUtf8()));
        if (other.CharacterIds.Except(party.CharacterIds).FirstOrDefault(id => text.Contains($"\"characterId\":\"{id}\"", StringComparison.Ordinal)) is { } character)
        {
            return $"ExportMyData of {party.UserId} carried {other.UserId}'s character {character}";
        }

        return parts.Take(3).SequenceEqual(["characters.jsonl", "personas.jsonl", "lorebooks.jsonl"]) ? null : $"ExportMyData sent parts {string.Join(',', parts)}";
    }

    /// <summary>Reads an export stream to its end; a check gets the chunks of a stream that ended OK.</summary>
    private Func<CancellationToken, DateTime?, Task<Observation>> Chunks(
        Metadata headers, Func<ChatClient, CallOptions, AsyncServerStreamingCall<ExportChunk>> call, Func<object, string?>? check) =>
        async (cancellationToken, deadline) =>
        {
            var chunks = new List<ExportChunk>();
            try
            {
                using var stream = call(_client, new CallOptions(headers, deadline, cancellationToken));
                while (await stream.ResponseStream.MoveNext(CancellationToken.None))
                {
                    chunks.Add(stream.ResponseStream.Current);
                }

                return Observation.Ok with { Problem = check?.Invoke(chunks) };
            }
            catch (RpcException ex)
            {
                return Observation.Of(ex);
            }
        };
}
