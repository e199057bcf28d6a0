namespace ChatService.Auth;

/// <summary>
/// One static signing key, e.g. <c>Auth:SigningKeys:0:PublicKeyPem</c>. Each entry has exactly
/// one of <see cref="PublicKeyPem"/> and <see cref="HmacSecret"/>.
/// </summary>
public sealed class SigningKeyOptions
{
    /// <summary>
    /// The key id; when set, tokens whose <c>kid</c> header names it are checked with this key
    /// first. Default: none.
    /// </summary>
    public string? KeyId { get; set; }

    /// <summary>
    /// A PEM public key (<c>-----BEGIN PUBLIC KEY-----</c>, or <c>BEGIN RSA PUBLIC KEY</c>): RSA for
    /// RS256/RS384/RS512/PS256, or an EC P-256/P-384/P-521 key for ES256/ES384/ES512. Default: none.
    /// </summary>
    public string? PublicKeyPem { get; set; }

    /// <summary>A base64 shared secret of at least 32 bytes, for HS256/HS384/HS512. Default: none.</summary>
    public string? HmacSecret { get; set; }
}
