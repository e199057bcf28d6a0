using System.Diagnostics;
using ChatService.Api.V1;
using Grpc.Core;
using ChatClient = ChatService.Api.V1.ChatService.ChatServiceClient;

namespace ChatService.Bench.Scenarios;

/// <summary>One full exchange as a frontend does it: SendMessage, then its reply stream read to Completed.</summary>
internal static class Exchange
{
    public static async Task<ExchangeTimings> RunAsync(ChatClient client, BenchChat chat, string text, CancellationToken cancellationToken)
    {
        var began = Stopwatch.GetTimestamp();
        var request = new SendMessageRequest { ChatId = chat.ChatId, Text = text, RequestId = Guid.NewGuid().ToString("N") };
        using var call = client.SendMessage(request, chat.Headers, cancellationToken: cancellationToken);
        TimeSpan? accepted = null, firstDelta = null;
        Turn? reply = null;
        await foreach (var e in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            switch (e.EventCase)
            {
                case ReplyEvent.EventOneofCase.Accepted:
                    accepted ??= Stopwatch.GetElapsedTime(began);
                    reply ??= e.Accepted.PendingTurns.FirstOrDefault();
                    break;
                case ReplyEvent.EventOneofCase.Delta:
                    firstDelta ??= Stopwatch.GetElapsedTime(began);
                    break;
                case ReplyEvent.EventOneofCase.Completed:
                    var completed = Stopwatch.GetElapsedTime(began);
                    return new ExchangeTimings(accepted ?? completed, firstDelta ?? completed, reply?.Seq ?? 0, reply?.CandidateId ?? "");
                case ReplyEvent.EventOneofCase.Failed:
                    throw new RpcException(new Status(StatusCode.Aborted, $"reply failed: {e.Failed.Code} {e.Failed.Reason}"));
            }
        }

        throw new RpcException(new Status(StatusCode.DataLoss, "the reply stream ended without Completed"));
    }
}
