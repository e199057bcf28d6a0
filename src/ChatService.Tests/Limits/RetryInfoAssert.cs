using Google.Rpc;
using Grpc.Core;

namespace ChatService.Tests.Limits;

internal static class RetryInfoAssert
{
    /// <summary>The google.rpc.RetryInfo delay carried in the status details trailer.</summary>
    public static TimeSpan RetryDelay(RpcException ex)
    {
        var details = ex.Trailers.GetValueBytes("grpc-status-details-bin");
        Assert.NotNull(details);
        var status = Google.Rpc.Status.Parser.ParseFrom(details);
        Assert.Equal((int)ex.StatusCode, status.Code);
        Assert.Equal(ex.Status.Detail, status.Message);
        var retry = Assert.Single(status.Details, d => d.Is(RetryInfo.Descriptor)).Unpack<RetryInfo>();
        return retry.RetryDelay.ToTimeSpan();
    }
}
