using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Cache;

/// <summary>
/// The service with no background Spanner traffic (no recovery sweeps, no health polling after the
/// check at start), so a test can attribute every Spanner read to the requests it makes.
/// </summary>
public sealed class QuietFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Dispatch:SweepInterval"] = "01:00:00",
        ["Health:Period"] = "01:00:00",
        // Its rounds read Spanner too (one small index read), which these tests count.
        ["Chat:CatalogBackfillInterval"] = "01:00:00",

        // The summary sweep reads Spanner on its own schedule too.
        ["Summary:SweepInterval"] = "01:00:00",
        ["DataDeletion:SweepInterval"] = "01:00:00",
    };
}
