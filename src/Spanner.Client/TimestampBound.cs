using Google.Protobuf.WellKnownTypes;

namespace Spanner.Client;

/// <summary>
/// How fresh the data of a read-only query or snapshot must be. All bounds suit single-use queries; a snapshot
/// (<see cref="SpannerDatabaseClient.BeginSnapshotAsync"/>) takes every bound but <see cref="MaxStaleness"/>.
/// </summary>
public sealed class TimestampBound
{
    private readonly Func<V1.TransactionOptions.Types.ReadOnly> _build;
    private readonly string _description;

    private TimestampBound(Func<V1.TransactionOptions.Types.ReadOnly> build, string description, bool singleUseOnly = false)
    {
        _build = build;
        _description = description;
        IsSingleUseOnly = singleUseOnly;
    }

    /// <summary>Sees every transaction committed before the read started. The default.</summary>
    public static TimestampBound Strong { get; } =
        new(() => new V1.TransactionOptions.Types.ReadOnly { Strong = true }, "strong");

    /// <summary>Reads at exactly <paramref name="staleness"/> in the past: cheaper, may miss recent writes.</summary>
    public static TimestampBound ExactStaleness(TimeSpan staleness)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(staleness, TimeSpan.Zero);
        return new(() => new V1.TransactionOptions.Types.ReadOnly { ExactStaleness = Duration.FromTimeSpan(staleness) },
            $"exact staleness {staleness}");
    }

    /// <summary>
    /// Reads at a timestamp Spanner picks, no more than <paramref name="staleness"/> old. Single-use queries only:
    /// Spanner picks the timestamp from what the query touches, which a snapshot does not know when it begins.
    /// </summary>
    public static TimestampBound MaxStaleness(TimeSpan staleness)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(staleness, TimeSpan.Zero);
        return new(() => new V1.TransactionOptions.Types.ReadOnly { MaxStaleness = Duration.FromTimeSpan(staleness) },
            $"max staleness {staleness}", singleUseOnly: true);
    }

    /// <summary>Reads the data as of <paramref name="timestamp"/> (repeatable).</summary>
    public static TimestampBound ReadTimestamp(DateTimeOffset timestamp) =>
        new(() => new V1.TransactionOptions.Types.ReadOnly { ReadTimestamp = Timestamp.FromDateTimeOffset(timestamp) },
            $"read timestamp {timestamp:O}");

    /// <summary>Spanner accepts this bound only on single-use reads, not when beginning a transaction.</summary>
    internal bool IsSingleUseOnly { get; }

    internal V1.TransactionOptions.Types.ReadOnly ToProto() => _build();

    /// <inheritdoc/>
    public override string ToString() => _description;
}
