using Grpc.Core;
using Microsoft.Extensions.Logging;
using Spanner.Client.LongRunning;

namespace Spanner.Client.Internal;

/// <summary>Waits for a google.longrunning.Operation by polling Operations.GetOperation with backoff.</summary>
internal sealed class OperationPoller(Operations.OperationsClient client, string resourcePrefix, TimeProvider time, ILogger logger)
{
    private static readonly TimeSpan InitialPollDelay = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan MaxPollDelay = TimeSpan.FromSeconds(2);

    /// <summary>Returns once the operation is done; throws <see cref="SpannerException"/> if it ended with an error.</summary>
    public async Task<Operation> WaitAsync(Operation operation, CancellationToken cancellationToken)
    {
        var delay = InitialPollDelay;
        while (!operation.Done)
        {
            Log.WaitingForOperation(logger, operation.Name);
            await Task.Delay(delay, time, cancellationToken);
            delay = delay * 2 < MaxPollDelay ? delay * 2 : MaxPollDelay;
            var request = new GetOperationRequest { Name = operation.Name };
            var headers = RoutingHeaders.Create(resourcePrefix, "name", operation.Name);
            operation = await AdminCalls.RunAsync(() => client.GetOperationAsync(request, headers, cancellationToken: cancellationToken), cancellationToken);
        }

        if (operation.ResultCase == Operation.ResultOneofCase.Error && operation.Error.Code != 0)
        {
            throw new SpannerException((StatusCode)operation.Error.Code, $"Operation {operation.Name} failed: {operation.Error.Message}");
        }

        return operation;
    }
}
