using ChatService.Api;

namespace ChatService.Tests.Api;

/// <summary>Origins a browser would never send fail validation (and so the start) with a message naming them.</summary>
public sealed class CorsOptionsValidationTests
{
    [Theory]
    [InlineData("https://chat.example.com")]
    [InlineData("http://localhost:5173")]
    [InlineData("*")]
    public void Validate_AnOriginABrowserSends_Succeeds(string origin)
    {
        var result = new BrowserCorsOptionsValidator().Validate(null, new BrowserCorsOptions { AllowedOrigins = [origin] });

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Theory]
    [InlineData("https://chat.example.com/")]
    [InlineData("https://chat.example.com/app")]
    [InlineData("chat.example.com")]
    [InlineData("ftp://chat.example.com")]
    [InlineData("https://chat.example.com?x=1")]
    public void Validate_AnOriginWithAPathOrNoScheme_FailsNamingIt(string origin)
    {
        var result = new BrowserCorsOptionsValidator().Validate(null, new BrowserCorsOptions { AllowedOrigins = [origin] });

        Assert.True(result.Failed);
        Assert.Contains($"'{origin}'", result.FailureMessage);
    }

    [Fact]
    public void Validate_StarTogetherWithOrigins_Fails()
    {
        var result = new BrowserCorsOptionsValidator().Validate(null, new BrowserCorsOptions { AllowedOrigins = ["*", "https://chat.example.com"] });

        Assert.True(result.Failed);
    }
}
