namespace Spanner.Client;

/// <summary>
/// A placeholder for "the commit timestamp of this transaction" in mutations: written as
/// <c>spanner.commit_timestamp()</c> into TIMESTAMP columns with <c>allow_commit_timestamp=true</c>.
/// </summary>
public sealed class SpannerCommitTimestamp
{
    private SpannerCommitTimestamp()
    {
    }

    /// <summary>The placeholder value.</summary>
    public static readonly SpannerCommitTimestamp Value = new();

    /// <inheritdoc/>
    public override string ToString() => Internal.ValueCodec.CommitTimestampPlaceholder;
}
