using ChatService.Dispatch;
using Grpc.Core;

namespace ChatService.Api;

internal sealed partial class ChatApi
{
    public override async Task<V1.RewindChatResponse> RewindChat(V1.RewindChatRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var chatId = RequestValidator.Id(request.ChatId, "chat_id");
        var toSeq = RequestValidator.Seq(request.ToSeq, "to_seq");
        var requestId = RequestValidator.RequestId(request.RequestId);
        var hidden = await shaping.RewindAsync(userId, chatId, toSeq, requestId, context.CancellationToken);
        return new V1.RewindChatResponse { HiddenSeqs = { hidden.Seqs } };
    }

    public override async Task<V1.DeleteTurnsResponse> DeleteTurns(V1.DeleteTurnsRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var chatId = RequestValidator.Id(request.ChatId, "chat_id");
        var seqs = RequestValidator.Seqs(request.Seqs, "seqs", ChatShaping.MaxTurnsPerCall);
        var hidden = await shaping.DeleteAsync(userId, chatId, seqs, context.CancellationToken);
        return new V1.DeleteTurnsResponse { HiddenSeqs = { hidden.Seqs } };
    }

    public override async Task<V1.Chat> ForkChat(V1.ForkChatRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var chatId = RequestValidator.Id(request.ChatId, "chat_id");
        var atSeq = RequestValidator.Seq(request.AtSeq, "at_seq");
        var requestId = RequestValidator.RequestId(request.RequestId);
        var title = request.Title.Length == 0 ? null : RequestValidator.Title(request.Title);
        return (await shaping.ForkAsync(userId, chatId, atSeq, requestId, title, context.CancellationToken)).ToProto();
    }

    public override async Task<V1.RestoreTurnsResponse> RestoreTurns(V1.RestoreTurnsRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var chatId = RequestValidator.Id(request.ChatId, "chat_id");
        var seqs = RequestValidator.Seqs(request.Seqs, "seqs", ChatShaping.MaxTurnsPerCall);
        var restored = await shaping.RestoreAsync(userId, chatId, seqs, context.CancellationToken);
        return new V1.RestoreTurnsResponse { RestoredSeqs = { restored } };
    }

    public override async Task<V1.Rating> RateCandidate(V1.RateCandidateRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var (chatId, seq) = RequestValidator.Turn(request);
        var candidateId = RequestValidator.OptionalId(request.CandidateId, "candidate_id");
        var rating = RequestValidator.Rating(request);
        return (await shaping.RateAsync(userId, chatId, seq, candidateId, rating, context.CancellationToken)).ToProto();
    }

    public override async Task<V1.Chat> PinTurn(V1.PinTurnRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var (chatId, seq) = RequestValidator.Turn(request);
        return (await shaping.PinAsync(userId, chatId, seq, context.CancellationToken)).ToProto();
    }

    public override async Task<V1.Chat> UnpinTurn(V1.UnpinTurnRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var (chatId, seq) = RequestValidator.Turn(request);
        return (await shaping.UnpinAsync(userId, chatId, seq, context.CancellationToken)).ToProto();
    }
}
