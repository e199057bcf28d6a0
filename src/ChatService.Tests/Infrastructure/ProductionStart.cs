using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Options;

namespace ChatService.Tests.Infrastructure;

/// <summary>
/// Starts the real host as Production, for the start-up checks of its options: the checks run before anything
/// touches Spanner (pointed at a closed port) or Redis. Production refuses to start without a few settings that
/// have development defaults; each is set here unless the test names it (a null value leaves it unset), so a
/// failure is the one under test.
/// </summary>
internal static class ProductionStart
{
    /// <summary>The settings every start gets unless the test sets (or, with null, unsets) them.</summary>
    private static readonly Dictionary<string, string> Defaults = new(StringComparer.Ordinal)
    {
        ["Spanner:EmulatorHost"] = "127.0.0.1:1",
        // Production refuses the public development secret that keys data deletions.
        ["DataDeletion:UserKeySecret"] = "production-start-tests-secret-0123456789abcdef",
    };

    /// <summary>
    /// Null when the host started; the options' verdict when their validation refused it. Any other failure fails
    /// the test: a start that "passes" must not hide another failure.
    /// </summary>
    public static OptionsValidationException? Error(IReadOnlyDictionary<string, string?> settings)
    {
        using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Production");
            foreach (var (key, value) in Defaults.Where(d => !settings.ContainsKey(d.Key)))
            {
                builder.UseSetting(key, value);
            }

            foreach (var (key, value) in settings.Where(s => s.Value is not null))
            {
                builder.UseSetting(key, value);
            }
        });

        var thrown = Record.Exception(() => factory.Server);
        return thrown switch
        {
            OptionsValidationException direct => direct,
            AggregateException { InnerException: OptionsValidationException inner } => inner,
            null => null,
            _ => throw new Xunit.Sdk.XunitException($"expected the start to succeed or fail options validation, got {thrown}"),
        };
    }

    /// <summary>The options' refusal of the start; fails the test when the host started.</summary>
    public static OptionsValidationException Fails(IReadOnlyDictionary<string, string?> settings) =>
        Error(settings) ?? throw new Xunit.Sdk.XunitException("expected the start to fail options validation, got a started host");
}
