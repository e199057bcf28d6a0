using ChatService.Cards;
using Grpc.Core;

namespace ChatService.Api;

/// <summary>
/// The largest request message each method reads. Every method but two takes at most a
/// character's texts (<see cref="ApiExtensions.MaxRequestBytes"/>, some 56 KiB); ImportCharacterCard
/// takes a PNG of up to 8 MiB, and ImportChat a chat file of up to Import:MaxBytes (8 MiB by default). grpc-dotnet has one limit for a whole service, so the chat service's
/// is set to the largest (every other service, server reflection included, keeps the regular one)
/// and each call's own limit is enforced here: on the length a request frame announces, by
/// <see cref="MalformedRequestGuard"/> before the message is buffered, and on what a compressed
/// message inflates to, by <see cref="BoundedDecompression"/>, which reads the limit of the call it
/// inflates for from <see cref="Current"/>.
/// </summary>
internal sealed class MessageSizeLimits(int regularBytes, int chatImportBytes = 0)
{
    /// <summary>A card's PNG and the request's few other fields.</summary>
    public const int CardImportBytes = CardLimits.MaxPngBytes + 16 * 1024;

    private static readonly AsyncLocal<int?> CallLimit = new();

    /// <summary>What grpc-dotnet is told for every service but the chat API.</summary>
    public int Regular => regularBytes;

    /// <summary>What grpc-dotnet is told for the chat API: none of its methods reads more.</summary>
    public int Largest => Math.Max(Math.Max(regularBytes, CardImportBytes), ChatImportBytes);

    /// <summary>ImportChat's file (Import:MaxBytes) and the request's other fields.</summary>
    public int ChatImportBytes => chatImportBytes + 16 * 1024;

    /// <summary>The limit of the call whose request is being read on this flow; the regular one outside a call.</summary>
    public int Current => CallLimit.Value ?? Regular;

    public int For(IMethod method) => method.ServiceName != V1.ChatService.Descriptor.FullName ? regularBytes : method.Name switch
    {
        nameof(ChatApi.ImportCharacterCard) => CardImportBytes,
        nameof(ChatApi.ImportChat) => ChatImportBytes,
        _ => regularBytes,
    };

    /// <summary>Runs the rest of the call with <paramref name="limit"/> as <see cref="Current"/>.</summary>
    public static async Task WithinAsync(int limit, RequestDelegate next, HttpContext context)
    {
        // An async method's changes to an AsyncLocal are undone when it returns: the limit covers this call only.
        CallLimit.Value = limit;
        await next(context);
    }
}
