using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace ChatService.Cache;

/// <summary>
/// Accepts a Redis server certificate only if it chains to one of the given certificate authorities (a
/// private CA such as a managed cluster's server CA, which the system trust store does not hold). A bundle
/// may hold several CAs, as it does while a CA is being rotated.
/// </summary>
internal sealed class RedisCertificateTrust
{
    private readonly X509Certificate2Collection _authorities;

    private RedisCertificateTrust(X509Certificate2Collection authorities) => _authorities = authorities;

    public int Count => _authorities.Count;

    /// <summary>Reads every certificate in a PEM file; fails the start if there is none.</summary>
    public static RedisCertificateTrust Load(string pemPath)
    {
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(pemPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new InvalidOperationException($"Redis:CaCertificatePath '{pemPath}' could not be read as PEM certificates: {ex.Message}", ex);
        }

        return authorities.Count > 0
            ? new RedisCertificateTrust(authorities)
            : throw new InvalidOperationException($"Redis:CaCertificatePath '{pemPath}' holds no PEM certificate.");
    }

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        // A name mismatch or a missing certificate is not something a private CA can excuse.
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_authorities);
        // Private CAs rarely publish revocation lists that pods can reach.
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            // Intermediates the server sent along.
            foreach (var element in chain.ChainElements.Skip(1))
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return custom.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }
}
