namespace ChatService.Api.V1;

// The generated request messages that name a chat (and a turn) declare it here, so the log scope
// reads plain properties instead of looking the fields up by name on every call. These add
// interfaces to generated types; they declare no types of their own.

public sealed partial class GetChatRequest : IChatScoped;

public sealed partial class DeleteChatRequest : IChatScoped;

public sealed partial class GetHistoryRequest : IChatScoped;

public sealed partial class SendMessageRequest : IChatScoped;

public sealed partial class ContinueChatRequest : IChatScoped;

public sealed partial class StreamReplyRequest : ITurnScoped;

public sealed partial class CancelReplyRequest : ITurnScoped;

public sealed partial class RegenerateRequest : ITurnScoped;

public sealed partial class ContinueReplyRequest : ITurnScoped;

public sealed partial class ListCandidatesRequest : ITurnScoped;

public sealed partial class SelectCandidateRequest : ITurnScoped;

public sealed partial class EditTurnRequest : ITurnScoped;

public sealed partial class ListTurnRevisionsRequest : ITurnScoped;

public sealed partial class RewindChatRequest : IChatScoped;

public sealed partial class DeleteTurnsRequest : IChatScoped;

public sealed partial class RestoreTurnsRequest : IChatScoped;

public sealed partial class ForkChatRequest : IChatScoped;

public sealed partial class RateCandidateRequest : ITurnScoped;

public sealed partial class PinTurnRequest : ITurnScoped;

public sealed partial class UnpinTurnRequest : ITurnScoped;

public sealed partial class ListLorebooksRequest : IChatScoped;

public sealed partial class AttachLorebookRequest : IChatScoped;

public sealed partial class DetachLorebookRequest : IChatScoped;

public sealed partial class GetChatMemoryRequest : IChatScoped;

public sealed partial class UpdateChatMemoryRequest : IChatScoped;

public sealed partial class GetReplyPromptRequest : ITurnScoped;

public sealed partial class ExportChatRequest : IChatScoped;
