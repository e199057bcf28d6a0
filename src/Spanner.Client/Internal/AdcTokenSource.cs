using Google.Apis.Auth.OAuth2;

namespace Spanner.Client.Internal;

/// <summary>
/// Access tokens from Application Default Credentials, loaded on first use so that constructing a client on a
/// machine without ADC does not throw. A failed load is retried on the next call.
/// </summary>
internal sealed class AdcTokenSource(string scope) : ITokenAccess
{
    private readonly object _gate = new();
    private Task<GoogleCredential>? _credential;

    public async Task<string> GetAccessTokenForRequestAsync(string? authUri = null, CancellationToken cancellationToken = default)
    {
        var credential = await GetCredentialAsync(cancellationToken);
        return await ((ITokenAccess)credential).GetAccessTokenForRequestAsync(authUri, cancellationToken);
    }

    private async Task<GoogleCredential> GetCredentialAsync(CancellationToken cancellationToken)
    {
        Task<GoogleCredential> task;
        lock (_gate)
        {
            _credential ??= LoadAsync();
            task = _credential;
        }

        try
        {
            return await task.WaitAsync(cancellationToken);
        }
        catch (Exception) when (task.IsFaulted)
        {
            lock (_gate)
            {
                if (ReferenceEquals(_credential, task))
                {
                    _credential = null;
                }
            }

            throw;
        }
    }

    private async Task<GoogleCredential> LoadAsync()
    {
        var credential = await GoogleCredential.GetApplicationDefaultAsync(CancellationToken.None);
        return credential.IsCreateScopedRequired ? credential.CreateScoped(scope) : credential;
    }
}
