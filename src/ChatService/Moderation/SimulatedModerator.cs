namespace ChatService.Moderation;

/// <summary>
/// The moderator of tests and local runs: no network, and the same answer for the same text every
/// time. A text is flagged when it contains one of the configured terms (ignoring case), with the
/// category of the term that occurs first; a text containing the outage marker fails as a classifier
/// outage would, so both outage policies can be tried by hand.
/// </summary>
public sealed class SimulatedModerator : IModerator
{
    private readonly List<(string Category, string Term)> _terms;
    private readonly string _outageMarker;

    public SimulatedModerator(SimulatedModeratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _terms = options.FlaggedTerms.Count == 0
            ? [("violence", SimulatedModeratorOptions.DefaultFlagMarker)]
            : [.. options.FlaggedTerms.SelectMany(c => c.Value.Select(term => (c.Key, term)))];
        _outageMarker = options.OutageMarker;
    }

    public string Name => "simulated";

    public Task<ModerationVerdict> CheckAsync(string text, ModerationTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        cancellationToken.ThrowIfCancellationRequested();
        if (_outageMarker.Length > 0 && text.Contains(_outageMarker, StringComparison.OrdinalIgnoreCase))
        {
            throw new ModerationUnavailableException("the simulated moderator is down (the text carries its outage marker)");
        }

        var first = _terms
            .Select(t => (t.Category, At: text.IndexOf(t.Term, StringComparison.OrdinalIgnoreCase)))
            .Where(t => t.At >= 0)
            .OrderBy(t => t.At)
            .FirstOrDefault();
        return Task.FromResult(first.Category is null ? ModerationVerdict.Clean : ModerationVerdict.FlaggedAs(first.Category));
    }
}
