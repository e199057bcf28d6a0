using System.Collections.Frozen;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols;
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

/// <summary>What a token's key id found.</summary>
internal enum JwksKeyOutcome
{
    /// <summary>The key set holds the key (or the token names none, and there is a key set to try).</summary>
    Known,

    /// <summary>A fetch made or joined for this call succeeded without the key: the issuer does not publish it.</summary>
    NotPublished,

    /// <summary>
    /// The key is not in the last key set, which was fetched fine, and no fetch may start yet
    /// (<see cref="AuthOptions.JwksMinimumRefreshInterval"/>).
    /// </summary>
    Throttled,

    /// <summary>The keys could not be checked: the fetch failed, or did not finish within <see cref="AuthOptions.JwksUnknownKeyWait"/>.</summary>
    Unavailable,
}

/// <summary>The keys to validate a token with, and whether its key id was among them.</summary>
internal readonly record struct JwksKeyLookup(IReadOnlyList<SecurityKey> Keys, JwksKeyOutcome Outcome);

/// <summary>
/// The issuer's signing keys from <see cref="AuthOptions.JwksUrl"/>, fetched at start and kept in memory.
/// <para>
/// Microsoft.IdentityModel's ConfigurationManager, used before, answers an unknown key by starting a
/// refresh in the background, so the call that names an issuer's new key was refused and only later ones
/// passed: every replica signed out its first callers at every rotation. Here a call naming an unknown key
/// waits (at most <see cref="AuthOptions.JwksUnknownKeyWait"/>) for a fetch and is judged by its result.
/// </para>
/// <para>
/// One fetch runs at a time, and every call that needs one while it runs waits for that one, so a burst
/// of calls with an issuer's new key costs one fetch. A call may start a fetch only when none caused by
/// an unknown key started in the last <see cref="AuthOptions.JwksMinimumRefreshInterval"/>; inside that
/// interval an unknown key is refused at once (tokens naming made-up keys cost the issuer at most one
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

    private Keys _keys = Keys.None;

    /// <summary>The fetch running now, if any; set and cleared under <see cref="_gate"/>.</summary>
    private Task? _fetch;

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
    public Task StopAsync(CancellationToken cancellationToken) => _stopping.CancelAsync();

    public void Dispose() => _stopping.Dispose();

    /// <summary>
    /// The keys to check a token naming <paramref name="keyId"/> with (null: a token without a <c>kid</c>,
    /// tried against every key). Returns at once when the key is known; otherwise waits for a fetch, within
    /// <see cref="AuthOptions.JwksUnknownKeyWait"/>. Never throws.
    /// </summary>
    public ValueTask<JwksKeyLookup> FindAsync(string? keyId)
    {
        var keys = Volatile.Read(ref _keys);
        if (keys.Has(keyId))
        {
            if (time.GetTimestamp() >= Interlocked.Read(ref _nextScheduledFetch))
            {
                StartScheduledFetch();
            }

            return ValueTask.FromResult(new JwksKeyLookup(keys.List, JwksKeyOutcome.Known));
        }

        return new ValueTask<JwksKeyLookup>(FindUnknownAsync(keyId));
    }

    private async Task<JwksKeyLookup> FindUnknownAsync(string? keyId)
    {
        var started = time.GetTimestamp();
        var startedOne = false;
        var waitedForOne = false;
        while (true)
        {
            Task fetch;
            lock (_gate)
            {
                var keys = _keys;
                if (keys.Has(keyId))
                {
                    return new JwksKeyLookup(keys.List, JwksKeyOutcome.Known);
                }

                var now = time.GetTimestamp();
                if (_fetch is { } running)
                {
                    fetch = running;
                }
                else if (now >= Interlocked.Read(ref _nextScheduledFetch))
                {
                    // A due fetch (a failed start's retry, say) looks for the key as well as any; it costs
                    // the unknown-key allowance nothing, so a fetch of that kind may follow if it lacks it.
                    fetch = _fetch = StartFetch(keys.Loaded ? JwksFetchCause.Scheduled : JwksFetchCause.Startup);
                }
                else if (!startedOne && (_lastUnknownKidFetch is not { } last || time.GetElapsedTime(last, now) >= _options.JwksMinimumRefreshInterval))
                {
                    _lastUnknownKidFetch = now;
                    startedOne = true;
                    fetch = _fetch = StartFetch(JwksFetchCause.UnknownKid);
                }
                else
                {
                    return Refused(keys, _lastFetchFailed ? JwksKeyOutcome.Unavailable
                        : waitedForOne ? JwksKeyOutcome.NotPublished
                        : JwksKeyOutcome.Throttled);
                }
            }

            var left = _options.JwksUnknownKeyWait - time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                return Refused(Volatile.Read(ref _keys), JwksKeyOutcome.Unavailable);
            }

            try
            {
                await fetch.WaitAsync(left, time);
            }
            catch (TimeoutException)
            {
                // The fetch goes on and serves the calls after this one.
                return Refused(Volatile.Read(ref _keys), JwksKeyOutcome.Unavailable);
            }

            waitedForOne = true;
        }
    }

    private static JwksKeyLookup Refused(Keys keys, JwksKeyOutcome outcome) => new(keys.List, outcome);

    private void StartScheduledFetch()
    {
        lock (_gate)
        {
            if (_fetch is null && time.GetTimestamp() >= Interlocked.Read(ref _nextScheduledFetch))
            {
                _fetch = StartFetch(_keys.Loaded ? JwksFetchCause.Scheduled : JwksFetchCause.Startup);
            }
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
            var documents = new HttpDocumentRetriever(httpClients.CreateClient(ConfigureJwtBearer.JwksHttpClient))
            {
                RequireHttps = _options.JwksRequireHttps,
            };
            var json = await documents.GetDocumentAsync(_options.JwksUrl, _stopping.Token);
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
            // Always, so a fetch can never stay "running" and block every later one. One cancelled by
            // the host stopping is no failure of the issuer's, and is not counted.
            if (fetched is not null || !_stopping.IsCancellationRequested)
            {
                metrics.Refreshed(cause, fetched is not null);
            }

            var now = time.GetTimestamp();
            lock (_gate)
            {
                if (fetched is not null)
                {
                    Volatile.Write(ref _keys, fetched);
                }

                _lastFetchFailed = fetched is null;
                // A failed fetch is tried again after the shortest interval tokens may cause one at.
                var next = fetched is null ? _options.JwksMinimumRefreshInterval : _options.JwksRefreshInterval;
                Interlocked.Exchange(ref _nextScheduledFetch, now + (long)(next.TotalSeconds * time.TimestampFrequency));
                _fetch = null;
            }
        }
    }

    /// <summary>One fetched key set: its keys, and their ids for the lookup of a token's <c>kid</c>.</summary>
    private sealed class Keys
    {
        public static readonly Keys None = new([], FrozenSet<string>.Empty, loaded: false);

        private readonly FrozenSet<string> _ids;

        private Keys(IReadOnlyList<SecurityKey> list, FrozenSet<string> ids, bool loaded)
        {
            List = list;
            _ids = ids;
            Loaded = loaded;
        }

        public IReadOnlyList<SecurityKey> List { get; }

        /// <summary>False until the first fetch succeeds.</summary>
        public bool Loaded { get; }

        /// <summary>Whether a token naming <paramref name="keyId"/> can be checked now (one without a kid: against every key).</summary>
        public bool Has(string? keyId) => Loaded && (keyId is null || _ids.Contains(keyId));

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

            return new Keys([.. keys], keys.Select(k => k.KeyId).ToFrozenSet(StringComparer.Ordinal), loaded: true);
        }
    }
}
