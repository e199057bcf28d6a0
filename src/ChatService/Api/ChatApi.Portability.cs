using ChatService.Portability;
using Google.Protobuf;
using Grpc.Core;

namespace ChatService.Api;

internal sealed partial class ChatApi
{
    /// <summary>The part ExportChat sends.</summary>
    internal const string ChatPart = "chat.jsonl";

    private static readonly JsonFormatter ExportJson = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));

    public override async Task ExportChat(V1.ExportChatRequest request, IServerStreamWriter<V1.ExportChunk> responseStream, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var chatId = RequestValidator.Id(request.ChatId, "chat_id");
        var format = RequestValidator.ChatFormat(request.Format);
        await foreach (var chunk in portability.ExportAsync(userId, chatId, format, context.CancellationToken))
        {
            await responseStream.WriteAsync(new V1.ExportChunk { Part = ChatPart, Data = ByteString.CopyFrom(chunk) }, context.CancellationToken);
        }
    }

    public override async Task<V1.ImportChatResponse> ImportChat(V1.ImportChatRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var import = validate.ChatImport(userId, request, importOptions.Value.MaxBytes);
        var result = await portability.ImportAsync(import, context.CancellationToken);
        var chat = await chats.GetAsync(userId, result.ChatId, context.CancellationToken);
        return new V1.ImportChatResponse
        {
            Chat = chat.ToProto(),
            TurnCount = result.TurnCount,
            CandidateCount = result.CandidateCount,
            SkippedSystemMessages = result.SkippedSystemMessages,
        };
    }

    /// <summary>
    /// Everything the caller owns, one part after another: their characters, personas and lorebooks as this
    /// API's JSON (one object a line), then each chat in the lossless format with the caller's ratings.
    /// </summary>
    public override async Task ExportMyData(V1.ExportMyDataRequest request, IServerStreamWriter<V1.ExportChunk> responseStream, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var ct = context.CancellationToken;

        await WritePartAsync(responseStream, "characters.jsonl", OwnCharactersAsync(userId, ct), ct);
        await WritePartAsync(responseStream, "personas.jsonl", (await personas.ListAsync(userId, ct)).Select(p => (IMessage)p.ToProto()).ToAsyncEnumerable(), ct);
        await WritePartAsync(responseStream, "lorebooks.jsonl", WholeLorebooksAsync(userId, ct), ct);
        foreach (var chatId in await portability.OwnChatIdsAsync(userId, ct))
        {
            try
            {
                await foreach (var chunk in portability.ExportAsync(userId, chatId, ChatFileFormat.Lossless, ct))
                {
                    await responseStream.WriteAsync(new V1.ExportChunk { Part = $"chats/{chatId}.jsonl", Data = ByteString.CopyFrom(chunk) }, ct);
                }
            }
            catch (Chats.ChatException e) when (e.Kind == Chats.ChatErrorKind.NotFound)
            {
                // Deleted since it was listed: it is no longer the caller's data.
            }
        }
    }

    /// <summary>
    /// The caller's lorebooks with their entries, as GetLorebook returns them: the list (books without entries)
    /// names them, and each is read whole on its own, so only one book's entries are held at a time.
    /// </summary>
    private async IAsyncEnumerable<IMessage> WholeLorebooksAsync(string userId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        foreach (var listed in await lorebooks.ListAsync(userId, null, ct))
        {
            Chats.Lorebook whole;
            try
            {
                whole = await lorebooks.GetAsync(userId, listed.Id, ct);
            }
            catch (Chats.ChatException e) when (e.Kind == Chats.ChatErrorKind.NotFound)
            {
                // Deleted since it was listed: it is no longer the caller's data.
                continue;
            }

            yield return whole.ToProto();
        }
    }

    /// <summary>
    /// The user's characters (deleted ones too), newest first, each read as the part is written: a user with
    /// thousands of characters (each up to a card's worth of text) never has them all in memory at once, only
    /// their ids and the chunk being filled.
    /// </summary>
    private async IAsyncEnumerable<IMessage> OwnCharactersAsync(string userId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var position = 0;
        foreach (var id in await portability.OwnCharacterIdsAsync(userId, ct))
        {
            if (portability.OnExportCharacter is { } observe)
            {
                await observe(userId, position, ct);
            }

            position++;
            Chats.Character character;
            try
            {
                character = await characters.GetAsync(userId, id, ct);
            }
            catch (Chats.ChatException e) when (e.Kind == Chats.ChatErrorKind.NotFound)
            {
                // Gone since it was listed (its owner's data deletion): no longer the caller's data.
                continue;
            }

            yield return character.ToProto();
        }
    }

    /// <summary>A part of <paramref name="items"/> as JSON lines, sent a full chunk at a time as the items come.</summary>
    private static async Task WritePartAsync(IServerStreamWriter<V1.ExportChunk> stream, string part, IAsyncEnumerable<IMessage> items, CancellationToken ct)
    {
        var chunk = new MemoryStream();
        var any = false;
        await foreach (var item in items.WithCancellation(ct))
        {
            any = true;
            chunk.Write(System.Text.Encoding.UTF8.GetBytes(ExportJson.Format(item)));
            chunk.WriteByte((byte)'\n');
            foreach (var full in ChatPortability.FullChunks(chunk))
            {
                await stream.WriteAsync(new V1.ExportChunk { Part = part, Data = ByteString.CopyFrom(full) }, ct);
            }
        }

        // A part with nothing in it is still named, so a reader sees that the user has none.
        if (chunk.Length > 0 || !any)
        {
            await stream.WriteAsync(new V1.ExportChunk { Part = part, Data = ByteString.CopyFrom(chunk.ToArray()) }, ct);
        }
    }
}
