using System.IO.Compression;
using Grpc.Net.Compression;

namespace ChatService.Api;

/// <summary>
/// A compression provider whose decompression stops at the size limit: grpc-dotnet inflates a
/// compressed request in full before checking anything, so a few kilobytes of gzip could become
/// gigabytes in memory. Undecodable data is INVALID_ARGUMENT naming the encoding (grpc-dotnet
/// would answer UNKNOWN and log an error of ours). The limit is the call's own
/// (<see cref="MessageSizeLimits.Current"/>). Compression of responses is unchanged.
/// </summary>
internal sealed class BoundedDecompression(ICompressionProvider inner, MessageSizeLimits limits) : ICompressionProvider
{
    public string EncodingName => inner.EncodingName;

    public Stream CreateCompressionStream(Stream stream, CompressionLevel? compressionLevel) => inner.CreateCompressionStream(stream, compressionLevel);

    public Stream CreateDecompressionStream(Stream stream) => new BoundedDecompressionStream(inner.CreateDecompressionStream(stream), EncodingName, limits.Current);
}
