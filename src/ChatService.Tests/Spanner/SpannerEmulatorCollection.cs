namespace ChatService.Tests.Spanner;

/// <summary>Tests sharing the private Spanner emulator; they run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class SpannerEmulatorCollection : ICollectionFixture<SpannerEmulatorFixture>
{
    public const string Name = "Spanner emulator";
}
