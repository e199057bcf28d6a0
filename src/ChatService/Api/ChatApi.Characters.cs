using Grpc.Core;

namespace ChatService.Api;

internal sealed partial class ChatApi
{
    public override async Task<V1.Character> UpdateCharacter(V1.UpdateCharacterRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var update = validate.CharacterUpdate(request);
        return (await cards.UpdateAsync(userId, update, context.CancellationToken)).ToProto();
    }

    public override async Task<Google.Protobuf.WellKnownTypes.Empty> DeleteCharacter(V1.DeleteCharacterRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var id = RequestValidator.Id(request.CharacterId, "character_id");
        await characters.DeleteAsync(userId, id, context.CancellationToken);
        return new Google.Protobuf.WellKnownTypes.Empty();
    }
}
