using System.Collections.Concurrent;
using Google.Apis.Auth.OAuth2;

namespace ChatService.Tests.Spanner;

/// <summary>A token source under the test's control: returns, fails or hangs as told, and records what it was asked.</summary>
internal sealed class FakeTokenSource(Func<int, Task<string>> issue) : ITokenAccess
{
    private int _requests;

    public ConcurrentQueue<string?> AuthUris { get; } = new();

    public int Requests => Volatile.Read(ref _requests);

    public Task<string> GetAccessTokenForRequestAsync(string? authUri = null, CancellationToken cancellationToken = default)
    {
        AuthUris.Enqueue(authUri);
        return issue(Interlocked.Increment(ref _requests));
    }
}
