using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Auth;

/// <summary>
/// The service as production runs it: the x-user-id switch off, tokens from one issuer for two
/// audiences, verified with static keys (RSA and EC public keys as PEM, an HMAC secret).
/// </summary>
public sealed class StaticKeysFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public TestSigner Rsa { get; } = TestSigner.Rsa("rsa-1");

    public TestSigner Ec { get; } = TestSigner.Ec("ec-1");

    public TestSigner Hmac { get; } = TestSigner.Hmac("hmac-1");

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Auth:AllowUserIdHeader"] = "false",
        ["Auth:Issuer"] = TestSigner.Issuer,
        ["Auth:Audience"] = TestSigner.Audience,
        ["Auth:Audiences:0"] = "chat-api-mobile",
        ["Auth:SigningKeys:0:KeyId"] = Rsa.Key.KeyId,
        ["Auth:SigningKeys:0:PublicKeyPem"] = Rsa.PublicKeyPem,
        ["Auth:SigningKeys:1:PublicKeyPem"] = Ec.PublicKeyPem,
        ["Auth:SigningKeys:2:KeyId"] = Hmac.Key.KeyId,
        ["Auth:SigningKeys:2:HmacSecret"] = Hmac.HmacSecret,
    };
}
