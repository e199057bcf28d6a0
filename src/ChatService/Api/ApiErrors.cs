using System.Diagnostics.CodeAnalysis;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Status = Grpc.Core.Status;

namespace ChatService.Api;

/// <summary>Builds the RpcExceptions the API throws, with google.rpc details where they help.</summary>
internal static class ApiErrors
{
    /// <summary>INVALID_ARGUMENT with a google.rpc.BadRequest naming the field.</summary>
    [DoesNotReturn]
    public static void ThrowInvalidArgument(string field, string description) => throw InvalidArgument(field, description);

    public static RpcException InvalidArgument(string field, string description)
    {
        var badRequest = new BadRequest { FieldViolations = { new BadRequest.Types.FieldViolation { Field = field, Description = description } } };
        return WithDetails(StatusCode.InvalidArgument, description, badRequest);
    }

    /// <summary>A status that tells the caller when to retry, with a google.rpc.RetryInfo when the delay is known.</summary>
    public static RpcException Retryable(StatusCode code, string message, TimeSpan? retryAfter) =>
        retryAfter is { } delay
            ? WithDetails(code, message, new RetryInfo { RetryDelay = Duration.FromTimeSpan(delay) })
            : new RpcException(new Status(code, message));

    /// <summary>
    /// An RpcException carrying a google.rpc.Status with the given details; Grpc.StatusProto puts
    /// it in the grpc-status-details-bin trailer, where clients' GetRpcStatus() finds it.
    /// </summary>
    public static RpcException WithDetails(StatusCode code, string message, params IMessage[] details)
    {
        var status = new Google.Rpc.Status { Code = (int)code, Message = message };
        foreach (var detail in details)
        {
            status.Details.Add(Any.Pack(detail));
        }

        return status.ToRpcException();
    }
}
