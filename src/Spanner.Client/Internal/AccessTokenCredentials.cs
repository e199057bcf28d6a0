using System.Net;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Responses;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Spanner.Client.Internal;

/// <summary>
/// Puts <c>authorization: Bearer &lt;token&gt;</c> on every call, asking the credential each time (it caches and
/// refreshes). A token that cannot be had becomes a clear gRPC status on the call instead of a hang or an
/// opaque INTERNAL: UNAVAILABLE when trying again may help (timeout, network, the token server's 5xx),
/// UNAUTHENTICATED when it will not (no credentials found, a rejected grant).
/// </summary>
internal sealed class AccessTokenCredentials(ITokenAccess credential, TimeSpan timeout, TimeProvider time, ILogger logger)
{
    public CallCredentials ToCallCredentials() => CallCredentials.FromInterceptor(AddTokenAsync);

    internal async Task AddTokenAsync(AuthInterceptorContext context, Metadata metadata)
    {
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        string? token;
        try
        {
            // WaitAsync bounds the wait even for a credential that ignores its cancellation token.
            token = await credential.GetAccessTokenForRequestAsync(context.ServiceUrl, abandon.Token)
                .WaitAsync(timeout, time, context.CancellationToken);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            var status = StatusFor(ex);
            Log.AccessTokenFailed(logger, status.StatusCode, ex);
            throw new RpcException(status);
        }
        finally
        {
            // A timed-out fetch has nobody waiting for it any more.
            await abandon.CancelAsync();
        }

        if (string.IsNullOrEmpty(token))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "The credential returned an empty access token for Cloud Spanner."));
        }

        metadata.Add("authorization", $"Bearer {token}");
    }

    internal Status StatusFor(Exception exception) => exception switch
    {
        TimeoutException => new(StatusCode.Unavailable, $"No access token for Cloud Spanner within {timeout.TotalSeconds:0.###} s.", exception),
        TokenResponseException { StatusCode: >= HttpStatusCode.InternalServerError or HttpStatusCode.TooManyRequests } or HttpRequestException or IOException or OperationCanceledException =>
            new(StatusCode.Unavailable, $"Could not get an access token for Cloud Spanner (will retry): {exception.Message}", exception),
        _ => new(StatusCode.Unauthenticated, $"Could not get an access token for Cloud Spanner: {exception.Message}", exception),
    };
}
