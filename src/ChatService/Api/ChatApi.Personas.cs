using Grpc.Core;

namespace ChatService.Api;

internal sealed partial class ChatApi
{
    public override async Task<V1.Persona> CreatePersona(V1.CreatePersonaRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var persona = RequestValidator.Persona(request);
        return (await personas.CreateAsync(userId, persona, context.CancellationToken)).ToProto();
    }

    public override async Task<V1.ListPersonasResponse> ListPersonas(V1.ListPersonasRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var list = await personas.ListAsync(userId, context.CancellationToken);
        return new V1.ListPersonasResponse { Personas = { list.Select(p => p.ToProto()) } };
    }

    public override async Task<V1.Persona> UpdatePersona(V1.UpdatePersonaRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var update = RequestValidator.PersonaUpdate(request);
        return (await personas.UpdateAsync(userId, update, context.CancellationToken)).ToProto();
    }

    public override async Task<Google.Protobuf.WellKnownTypes.Empty> DeletePersona(V1.DeletePersonaRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var id = RequestValidator.Id(request.PersonaId, "persona_id");
        await personas.DeleteAsync(userId, id, context.CancellationToken);
        return new Google.Protobuf.WellKnownTypes.Empty();
    }
}
