using ChatService.Cards;
using ChatService.Chats;
using ChatService.Dispatch;
using ChatService.Limits;
using Grpc.Core;

namespace ChatService.Api;

/// <summary>
/// The public gRPC service. Each method validates its request, calls the domain and maps the
/// result; failures are mapped to statuses by <see cref="ErrorMappingInterceptor"/>. Calls reach
/// it authenticated (by <see cref="Auth.CallerGate"/>), with the caller in
/// <see cref="CallerContext.GetUserId"/>.
/// </summary>
[BindServiceMethod(typeof(ChatApiBinding), nameof(ChatApiBinding.BindService))]
internal sealed partial class ChatApi(
    RequestValidator validate,
    UserLimiter limits,
    CharacterCatalog characters,
    PersonaDirectory personas,
    ChatDirectory chats,
    ChatHistory history,
    ReplyPipeline pipeline,
    ChatShaping shaping,
    CharacterCards cards,
    LorebookDirectory lorebooks,
    Microsoft.Extensions.Options.IOptions<Auth.AuthOptions> auth,
    IHostApplicationLifetime lifetime,
    IChatMemoryStore memories,
    Microsoft.Extensions.Options.IOptions<MemoryOptions> memoryOptions,
    Portability.ChatPortability portability,
    Microsoft.Extensions.Options.IOptions<Portability.ImportOptions> importOptions,
    ChatHousekeeping housekeeping,
    Privacy.DataDeletionRunner deletions) : V1.ChatService.ChatServiceBase
{
    public override async Task<V1.Character> CreateCharacter(V1.CreateCharacterRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var character = await characters.CreateAsync(userId, validate.Character(request), context.CancellationToken);
        return character.ToProto();
    }

    public override async Task<V1.Character> GetCharacter(V1.GetCharacterRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var id = RequestValidator.Id(request.CharacterId, "character_id");
        return (await characters.GetAsync(userId, id, context.CancellationToken)).ToProto();
    }

    public override async Task<V1.ListCharactersResponse> ListCharacters(V1.ListCharactersRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var pageSize = RequestValidator.PageSize(request.PageSize);
        var list = RequestValidator.CharacterList(request);
        var page = await characters.ListAsync(userId, list, pageSize, request.PageToken, context.CancellationToken);
        return new V1.ListCharactersResponse { Characters = { page.Items.Select(c => c.ToProto()) }, NextPageToken = page.NextPageToken ?? "" };
    }

    public override async Task<V1.Chat> CreateChat(V1.CreateChatRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var characterIds = validate.ChatCharacters(request.CharacterIds);
        var title = RequestValidator.Title(request.Title);
        var personaId = RequestValidator.OptionalId(request.PersonaId, "persona_id");
        var greetingIndex = RequestValidator.GreetingIndex(request.GreetingIndex);
        var speakers = validate.ChatSpeakers(request.SpeakerStrategy, request.MutedCharacterIds);
        var (chat, _) = await chats.CreateAsync(userId, characterIds, title, personaId, greetingIndex, context.CancellationToken, speakers);
        return chat.ToProto();
    }

    public override async Task<V1.Chat> UpdateChat(V1.UpdateChatRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var update = validate.ChatUpdate(request);
        return (await chats.UpdateSpeakersAsync(userId, update, context.CancellationToken)).ToProto();
    }

    public override async Task<V1.Chat> GetChat(V1.GetChatRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var chatId = RequestValidator.Id(request.ChatId, "chat_id");
        return (await chats.GetAsync(userId, chatId, context.CancellationToken)).ToProto();
    }

    public override async Task<V1.ListChatsResponse> ListChats(V1.ListChatsRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var pageSize = RequestValidator.PageSize(request.PageSize);
        var filter = RequestValidator.ArchiveFilter(request.ArchiveFilter);
        var page = await housekeeping.ListAsync(userId, filter, pageSize, request.PageToken, context.CancellationToken);
        return new V1.ListChatsResponse { Chats = { page.Items.Select(c => c.ToProto()) }, NextPageToken = page.NextPageToken ?? "" };
    }

    public override async Task<Google.Protobuf.WellKnownTypes.Empty> DeleteChat(V1.DeleteChatRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var chatId = RequestValidator.Id(request.ChatId, "chat_id");
        await chats.DeleteAsync(userId, chatId, context.CancellationToken);
        return new Google.Protobuf.WellKnownTypes.Empty();
    }

    /// <summary>GetHistory, bound by <see cref="HistoryMethod"/>: the page goes out as encoded bytes.</summary>
    public async Task<HistoryPageResponse> GetHistoryPage(V1.GetHistoryRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var chatId = RequestValidator.Id(request.ChatId, "chat_id");
        var pageSize = RequestValidator.PageSize(request.PageSize);
        var page = await history.GetPageAsync(userId, chatId, pageSize, request.PageToken, context.CancellationToken);
        return HistoryPageResponse.From(page);
    }
}
