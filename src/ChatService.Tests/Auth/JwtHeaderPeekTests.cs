using System.Text;
using ChatService.Auth;
using Microsoft.IdentityModel.Tokens;

namespace ChatService.Tests.Auth;

/// <summary>
/// How <see cref="JwksTokenHandler"/> reads a token's <c>kid</c> and <c>alg</c> before deciding whether the
/// token may wait for (and cause) a JWKS fetch: only a readable header does; anything else is left to the
/// full validation, which refuses it.
/// </summary>
public sealed class JwtHeaderPeekTests
{
    [Fact]
    public void ARealToken_GivesItsKeyIdAndAlgorithm()
    {
        var token = TestSigner.Rsa("peek-1").Token("alice");

        Assert.True(JwksTokenHandler.TryReadHeader(token, out var keyId, out var algorithm));
        Assert.Equal("peek-1", keyId);
        Assert.Equal(SecurityAlgorithms.RsaSha256, algorithm);
    }

    public static TheoryData<string, string?, string?> ReadableHeaders => new()
    {
        { """{"alg":"RS256"}""", null, "RS256" },
        { """{"kid":7,"alg":"ES256"}""", null, "ES256" },
        { """{"alg":"RS256","kid":"k","x5c":["a",{"b":[1,2]}],"crit":{"x":null}}""", "k", "RS256" },
        { """{"kid":"k","alg":null}""", "k", null },
    };

    [Theory]
    [MemberData(nameof(ReadableHeaders))]
    public void ReadableHeaders_GiveTheirStringMembers(string header, string? expectedKeyId, string? expectedAlgorithm)
    {
        Assert.True(JwksTokenHandler.TryReadHeader(Token(header), out var keyId, out var algorithm));
        Assert.Equal(expectedKeyId, keyId);
        Assert.Equal(expectedAlgorithm, algorithm);
    }

    public static TheoryData<string> UnreadableTokens => new()
    {
        "",
        "no-dot-at-all",
        ".payload.signature",
        "!!!!.payload.signature",
        Base64UrlEncoder.Encode("[1,2]") + ".payload.signature",
        Base64UrlEncoder.Encode("\"RS256\"") + ".payload.signature",
        Base64UrlEncoder.Encode("""{"alg":"RS256" """) + ".payload.signature",
        Base64UrlEncoder.Encode("not json") + ".payload.signature",
        Token("{\"alg\":\"RS256\",\"kid\":\"" + new string('k', 9000) + "\"}"),
    };

    [Theory]
    [MemberData(nameof(UnreadableTokens))]
    public void UnreadableHeaders_AreNotRead(string token)
    {
        Assert.False(JwksTokenHandler.TryReadHeader(token, out _, out _));
    }

    private static string Token(string header) =>
        $"{Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(header))}.{Base64UrlEncoder.Encode("{}")}.sig";
}
