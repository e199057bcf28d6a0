using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Privacy;

/// <summary>
/// Outside Development the service refuses to start without <c>DataDeletion:UserKeySecret</c>: the default is a
/// public development secret, under which anyone could tell whose a deletion record is.
/// </summary>
public sealed class DataDeletionStartupTests
{
    /// <summary>Tokens are not what these tests are about: the header switch lets Production start without token settings.</summary>
    private static Dictionary<string, string?> Settings(string? secret) => new()
    {
        ["Auth:AllowUserIdHeader"] = "true",
        ["DataDeletion:UserKeySecret"] = secret,
    };

    [Fact]
    public void Production_WithoutUserKeySecret_RefusesToStart_NamingTheSetting()
    {
        var ex = ProductionStart.Fails(Settings(null));

        Assert.Contains("DataDeletion:UserKeySecret is required outside Development", ex.Message);
    }

    [Fact]
    public void Production_WithAShortUserKeySecret_RefusesToStart_WithoutEchoingIt()
    {
        const string secret = "short-secret-0123456789abcdef";

        var ex = ProductionStart.Fails(Settings(secret));

        Assert.Contains("DataDeletion:UserKeySecret must be at least 32 characters", ex.Message);
        Assert.DoesNotContain(secret, ex.Message);
    }

    [Fact]
    public void Production_WithAUserKeySecret_Starts()
    {
        // The same start as above but for the secret: what refused those starts is the secret alone.
        Assert.Null(ProductionStart.Error(Settings("data-deletion-startup-tests-secret-0123456789")));
    }
}
