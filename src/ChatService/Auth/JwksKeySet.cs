using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace ChatService.Auth;

/// <summary>Why the JWKS was fetched.</summary>
internal enum JwksFetchCause
{
    /// <summary>The first fetch, when the service starts, and its retries until keys were once loaded.</summary>
    Startup,

    /// <summary>Every <see cref="AuthOptions.JwksRefreshInterval"/>, and a failed fetch's retry.</summary>
    Scheduled,

    /// <summary>A token named a key the cached set lacks (an issuer's rotation, or a made-up kid).</summary>
    UnknownKid,
}

/// <summary>What a search for a token's key found.</summary>
internal enum JwksKeyOutcome
{
    /// <summary>The keys changed since the token was tried (a fetch brought them): validate it again.</summary>
    NewKeys,

    /// <summary>A fetch made or joined for this call succeeded without the key: the issuer does not publish it.</summary>
    NotPublished,

    /// <summary>
    /// The key is not in the last key set, which was fetched fine, and no fetch may start yet
    /// (<see cref="AuthOptions.JwksMinimumRefreshInterval"/>): the key may be one the issuer published since.
    /// </summary>
    Throttled,

    /// <summary>The keys could not be checked: the fetch failed, or did not finish within <see cref="AuthOptions.JwksUnknownKeyWait"/>.</summary>
    Unavailable,
}

/// <summary>
/// One call's search for a key its token needs: the keys it was last validated with, when the search
/// began (the wait is counted from there), and whether it started or waited for a fetch. Used by one call only.
/// </summary>
internal sealed class JwksKeySearch(JwksKeySet.Keys tried)
{
    public JwksKeySet.Keys Tried { get; set; } = tried;

    public long? Started { get; set; }

    public bool StartedOne { get; set; }

    public bool WaitedForOne { get; set; }
}

/// <summary>
/// The issuer's signing keys from <see cref="AuthOptions.JwksUrl"/>, fetched at start and kept in memory.
/// <para>
/// Microsoft.IdentityModel's ConfigurationManager, used before, answers an unknown key by starting a
/// refresh in the background, so the call that names an issuer's new key was refused and only later ones
/// passed: every replica signed out its first callers at every rotation. Here a call whose token no known
/// key fits (<see cref="JwksTokenHandler"/> validates first) waits, at most
/// <see cref="AuthOptions.JwksUnknownKeyWait"/>, for a fetch and is judged again by its result.
/// </para>
/// <para>
/// One fetch runs at a time, and every call that needs one while it runs waits for that one, so a burst
/// of calls with an issuer's new key costs one fetch. A call may start a fetch only when none caused by
/// an unknown key started in the last <see cref="AuthOptions.JwksMinimumRefreshInterval"/>; inside that
/// interval an unknown key is refused at once, UNAVAILABLE (tokens naming made-up keys cost the issuer at most one
/// fetch per interval per replica). A fetch that fails, or finds no usable key, changes nothing: the keys
/// already known keep working.
/// </para>
/// </summary>
internal sealed class JwksKeySet(
    IOptions<AuthOptions> options,
    IHttpClientFactory httpClients,
    AuthMetrics metrics,
    TimeProvider time,
    ILogger<JwksKeySet> logger) : IHostedService, IDisposable
{
    private readonly Lock _gate = new();

    private readonly AuthOptions _options = options.Value;

    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;

    private Keys _keys = Keys.None;

    /// <summary>The fetch running now, if any; set and cleared under <see cref="_gate"/>, read without it by <see cref="Use"/>.</summary>
    private volatile Task? _fetch;

    /// <summary>Whether the last fetch that finished failed; under <see cref="_gate"/>.</summary>
    private bool _lastFetchFailed;

    /// <summary>When the last fetch caused by an unknown key started (a timestamp); under <see cref="_gate"/>.</summary>
    private long? _lastUnknownKidFetch;

    /// <summary>When the next scheduled fetch is due (a timestamp; 0: at once).</summary>
    private long _nextScheduledFetch;

    /// <summary>Whether tokens are checked against a JWKS at all.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(_options.JwksUrl);

    /// <summary>The keys known now, without fetching.</summary>
    public IReadOnlyList<SecurityKey> Current => Volatile.Read(ref _keys).List;

    /// <summary>
    /// The keys to validate a token with first: those known now, without waiting. Starts the scheduled
    /// fetch when it is due (in the background; the call does not wait for it), and says so in
    /// <paramref name="startedFetch"/>: that fetch is the call's one (see <see cref="JwksKeySearch.StartedOne"/>).
    /// While a fetch runs, this takes no lock.
    /// </summary>
    public Keys Use(out bool startedFetch)
    {
        var keys = Volatile.Read(ref _keys);
        startedFetch = _fetch is null
            && time.GetTimestamp() >= Interlocked.Read(ref _nextScheduledFetch)
            && StartScheduledFetch();
        return keys;
    }

    /// <summary>Starts the first fetch, without holding up the start: calls that come before it ends wait for it.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Enabled)
        {
            lock (_gate)
            {
                _fetch ??= StartFetch(JwksFetchCause.Startup);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Cancels a fetch under way: the host is going away, and with it the HTTP client the fetch uses.</summary>
    /// <remarks>
    /// A host can be stopped after its services were disposed (a test factory disposed twice, a host
    /// torn down after a failed start): there is then nothing left to cancel, and stopping must not throw.
    /// </remarks>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        try
        {
            await _stopping.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            // Disposed between the check and the cancel: nothing to cancel either.
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stopping.Dispose();
        }
    }

    /// <summary>
    /// Called when the keys in <see cref="JwksKeySearch.Tried"/> did not hold the token's key: returns
    /// <see cref="JwksKeyOutcome.NewKeys"/> (and puts them in the search) as soon as the keys differ from
    /// those, joining the fetch under way or starting one when one may start, within
    /// <see cref="AuthOptions.JwksUnknownKeyWait"/> of the search's first call; otherwise why the key is
    /// not to be had. A call starts at most one fetch, of any cause. Never throws.
    /// </summary>
    public async Task<JwksKeyOutcome> FindAsync(JwksKeySearch search)
    {
        search.Started ??= time.GetTimestamp();
        while (true)
        {
            Task fetch;
            lock (_gate)
            {
                var keys = _keys;
                if (!ReferenceEquals(keys, search.Tried))
                {
                    search.Tried = keys;
                    return JwksKeyOutcome.NewKeys;
                }

                var now = time.GetTimestamp();
                if (_fetch is { } running)
                {
                    fetch = running;
                }
                else if (search.StartedOne || (search.WaitedForOne && _lastFetchFailed))
                {
                    // This call's own fetch, or the one it waited for, failed or lacked the key: no second one.
                    return Refusal(search);
                }
                else if (now >= Interlocked.Read(ref _nextScheduledFetch))
                {
                    // A due fetch (a failed start's retry, say) looks for the key as well as any, and is
                    // this call's one fetch.
                    search.StartedOne = true;
                    fetch = _fetch = StartFetch(keys.Loaded ? JwksFetchCause.Scheduled : JwksFetchCause.Startup);
                }
                else if (_lastUnknownKidFetch is not { } last || time.GetElapsedTime(last, now) >= _options.JwksMinimumRefreshInterval)
                {
                    _lastUnknownKidFetch = now;
                    search.StartedOne = true;
                    fetch = _fetch = StartFetch(JwksFetchCause.UnknownKid);
                }
                else
                {
                    return Refusal(search);
                }
            }

            var left = _options.JwksUnknownKeyWait - time.GetElapsedTime(search.Started.Value);
            if (left <= TimeSpan.Zero)
            {
                // The fetch goes on and serves the calls after this one.
                return JwksKeyOutcome.Unavailable;
            }

            try
            {
                await fetch.WaitAsync(left, time);
            }
            catch (Exception)
            {
                // Timed out (the fetch goes on and serves the calls after this one), or anything else:
                // either way the keys could not be checked.
                return JwksKeyOutcome.Unavailable;
            }

            search.WaitedForOne = true;
        }
    }

    /// <summary>Why a search that may not fetch (any more) ends; call under <see cref="_gate"/>.</summary>
    private JwksKeyOutcome Refusal(JwksKeySearch search) =>
        _lastFetchFailed ? JwksKeyOutcome.Unavailable
        : search.WaitedForOne ? JwksKeyOutcome.NotPublished
        : JwksKeyOutcome.Throttled;

    private bool StartScheduledFetch()
    {
        lock (_gate)
        {
            if (_fetch is null && time.GetTimestamp() >= Interlocked.Read(ref _nextScheduledFetch))
            {
                _fetch = StartFetch(_keys.Loaded ? JwksFetchCause.Scheduled : JwksFetchCause.Startup);
                return true;
            }

            return false;
        }
    }

    /// <summary>
    /// Runs one fetch on the thread pool (never inline, so it cannot finish inside the caller's lock). Call
    /// under <see cref="_gate"/> and store the task in <see cref="_fetch"/>; the fetch clears it when done.
    /// </summary>
    private Task StartFetch(JwksFetchCause cause) => Task.Run(() => FetchAsync(cause));

    private async Task FetchAsync(JwksFetchCause cause)
    {
        Keys? fetched = null;
        try
        {
            var url = new Uri(_options.JwksUrl!, UriKind.Absolute);
            if (_options.JwksRequireHttps && url.Scheme != Uri.UriSchemeHttps)
            {
                throw new InvalidOperationException("the JWKS URL must be https");
            }

            // One request, no resend; given up when the host stops or Auth:JwksFetchTimeout passes. The
            // client's buffer limit bounds the document.
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            cancel.CancelAfter(_options.JwksFetchTimeout);
            var client = httpClients.CreateClient(ConfigureJwtBearer.JwksHttpClient);
            using var response = await client.GetAsync(url, HttpCompletionOption.ResponseContentRead, cancel.Token);
            response.EnsureSuccessStatusCode();
            var json = await response.Content.ReadAsStringAsync(cancel.Token);
            fetched = Keys.Read(json);
            AuthLog.JwksFetched(logger, cause, fetched.List.Count);
        }
        catch (Exception ex) when (!_stopping.IsCancellationRequested)
        {
            AuthLog.JwksFetchFailed(logger, cause, _options.JwksUrl, ex);
        }
        catch (Exception)
        {
            // Stopping: nobody waits for these keys any more.
        }
        finally
        {
            // Always, and first, so a fetch can never stay "running" and block every later one.
            var now = time.GetTimestamp();
            lock (_gate)
            {
                if (fetched is not null)
                {
                    Volatile.Write(ref _keys, fetched);
                }

                _lastFetchFailed = fetched is null;
                // A failed fetch is tried again after the shortest interval tokens may cause one at. The
                // validator bounds both intervals, so this cannot overflow.
                var next = fetched is null ? _options.JwksMinimumRefreshInterval : _options.JwksRefreshInterval;
                Interlocked.Exchange(ref _nextScheduledFetch, now + (long)(next.TotalSeconds * time.TimestampFrequency));
                _fetch = null;
            }

            // One cancelled by the host stopping is no failure of the issuer's, and is not counted.
            if (fetched is not null || !_stopping.IsCancellationRequested)
            {
                metrics.Refreshed(cause, fetched is not null);
            }
        }
    }

    /// <summary>One fetched key set; a fetch that succeeds replaces it with another object, even when the keys are the same.</summary>
    internal sealed class Keys
    {
        public static readonly Keys None = new([], loaded: false);

        private Keys(IReadOnlyList<SecurityKey> list, bool loaded)
        {
            List = list;
            Loaded = loaded;
        }

        public IReadOnlyList<SecurityKey> List { get; }

        /// <summary>False until the first fetch succeeds.</summary>
        public bool Loaded { get; }

        /// <summary>
        /// The signing keys of a JWKS document. A set with none the service can use is an error, not an
        /// empty set: taking it would refuse every caller until the next fetch.
        /// </summary>
        /// <remarks>
        /// A key without an id gets one: IdentityModel 8.23 throws a NullReferenceException while
        /// reporting a failed signature when some key has none (as with static keys).
        /// </remarks>
        public static Keys Read(string json)
        {
            var keys = new JsonWebKeySet(json).GetSigningKeys();
            if (keys.Count == 0)
            {
                throw new InvalidOperationException("the JWKS holds no usable signing key");
            }

            for (var i = 0; i < keys.Count; i++)
            {
                keys[i].KeyId ??= $"jwks-{i}";
            }

            return new Keys([.. keys], loaded: true);
        }
    }
}
