using ChatService.Cards;
using Google.Protobuf;
using Grpc.Core;

namespace ChatService.Api;

/// <summary>Character Cards: a character from a card (JSON or PNG), and a character as a card.</summary>
internal sealed partial class ChatApi
{
    public override async Task<V1.Character> ImportCharacterCard(V1.ImportCharacterCardRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var import = validate.CardImport(request);
        return (await cards.ImportAsync(userId, import, context.CancellationToken)).ToProto();
    }

    public override async Task<V1.ExportCharacterCardResponse> ExportCharacterCard(V1.ExportCharacterCardRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var id = RequestValidator.Id(request.CharacterId, "character_id");
        var spec = RequestValidator.CardSpec(request.Spec);
        var export = await cards.ExportAsync(userId, id, spec, request.Png, context.CancellationToken);
        return new V1.ExportCharacterCardResponse
        {
            Json = export.Json ?? "",
            Png = export.Png is { } png ? UnsafeByteOperations.UnsafeWrap(png) : ByteString.Empty,
            FileName = export.FileName,
        };
    }
}
