using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace ChatService.Auth;

/// <summary>Turns configured static keys into validation keys, with errors that never echo key material.</summary>
internal static class SigningKeyReader
{
    /// <summary>HS256 needs a 256-bit secret; a shorter one would be rejected at validation time anyway.</summary>
    public const int MinHmacSecretBytes = 32;

    public static bool TryRead(SigningKeyOptions options, out SecurityKey? key, out string? error)
    {
        key = null;
        var hasPem = !string.IsNullOrWhiteSpace(options.PublicKeyPem);
        var hasSecret = !string.IsNullOrWhiteSpace(options.HmacSecret);
        if (hasPem == hasSecret)
        {
            error = "set exactly one of PublicKeyPem and HmacSecret";
            return false;
        }

        key = hasPem ? ReadPublicKey(options.PublicKeyPem!, out error) : ReadSecret(options.HmacSecret!, out error);
        if (key is not null && !string.IsNullOrEmpty(options.KeyId))
        {
            key.KeyId = options.KeyId;
        }

        return key is not null;
    }

    private static SecurityKey? ReadPublicKey(string pem, out string? error)
    {
        if (pem.Contains("PRIVATE KEY", StringComparison.Ordinal))
        {
            // Validation needs only the public half; a private key in configuration is a leak waiting to happen.
            error = "PublicKeyPem holds a private key; configure the public key only";
            return null;
        }

        // "BEGIN PUBLIC KEY" does not say whether it is RSA or EC, so try both.
        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
            error = null;
            return new RsaSecurityKey(rsa);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            rsa.Dispose();
        }

        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportFromPem(pem);
            error = null;
            return new ECDsaSecurityKey(ecdsa);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            ecdsa.Dispose();
            error = "PublicKeyPem is not a PEM-encoded RSA or EC public key";
            return null;
        }
    }

    private static SymmetricSecurityKey? ReadSecret(string secret, out string? error)
    {
        var bytes = new byte[secret.Length];
        if (!Convert.TryFromBase64String(secret.Trim(), bytes, out var length))
        {
            error = "HmacSecret is not valid base64";
            return null;
        }

        if (length < MinHmacSecretBytes)
        {
            error = $"HmacSecret must decode to at least {MinHmacSecretBytes} bytes, got {length}";
            return null;
        }

        error = null;
        return new SymmetricSecurityKey(bytes[..length]);
    }
}
