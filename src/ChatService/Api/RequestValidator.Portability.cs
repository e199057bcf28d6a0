using ChatService.Portability;

namespace ChatService.Api;

internal sealed partial class RequestValidator
{
    /// <summary>Longest speaker name ImportChat maps (as long as a name a file may give).</summary>
    public const int MaxSpeakerNameLength = 256;

    /// <summary>An export or import format: one of the two, never unspecified.</summary>
    public static ChatFileFormat ChatFormat(V1.ChatExportFormat format) => format switch
    {
        V1.ChatExportFormat.LosslessJsonl => ChatFileFormat.Lossless,
        V1.ChatExportFormat.SillytavernJsonl => ChatFileFormat.SillyTavern,
        _ => throw ApiErrors.InvalidArgument("format", $"format must be CHAT_EXPORT_FORMAT_LOSSLESS_JSONL or CHAT_EXPORT_FORMAT_SILLYTAVERN_JSONL, got {format}"),
    };

    /// <summary>
    /// An ImportChat request: a request id (required: it is what a retry resumes by), a format, a file of
    /// at most <paramref name="maxBytes"/>, 0..Chat:MaxCharactersPerChat character ids, a name mapping onto
    /// them, and a title. The file's own lines are checked by the import.
    /// </summary>
    public ChatImportRequest ChatImport(string userId, V1.ImportChatRequest request, int maxBytes)
    {
        if (request.RequestId.Length == 0)
        {
            ApiErrors.ThrowInvalidArgument("request_id", "request_id is required: a retry with it resumes an interrupted import");
        }

        var requestId = RequestId(request.RequestId);
        var format = ChatFormat(request.Format);
        if (request.Data.Length == 0)
        {
            ApiErrors.ThrowInvalidArgument("data", "data is required: the file to import");
        }

        if (request.Data.Length > maxBytes)
        {
            ApiErrors.ThrowInvalidArgument("data", $"data must be at most {maxBytes} bytes (Import:MaxBytes), got {request.Data.Length}");
        }

        var characterIds = IdList(request.CharacterIds, "character_ids", 0, Options.MaxCharactersPerChat);
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, id) in request.CharacterNames.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var field = $"character_names[{name}]";
            if (name.Length is 0 or > MaxSpeakerNameLength || name.Any(char.IsControl))
            {
                ApiErrors.ThrowInvalidArgument("character_names", $"character_names keys must be 1..{MaxSpeakerNameLength} characters without control characters");
            }

            Id(id, field);
            if (!characterIds.Contains(id))
            {
                ApiErrors.ThrowInvalidArgument(field, $"{field} must be one of character_ids");
            }

            names[name] = id;
        }

        var title = request.Title.Length == 0 ? null : Title(request.Title);
        return new ChatImportRequest(userId, requestId, format, request.Data.Memory, characterIds, names, title);
    }
}
