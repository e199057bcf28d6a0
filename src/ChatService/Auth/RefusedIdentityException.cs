namespace ChatService.Auth;

/// <summary>
/// A credential that was read but names no acceptable caller (a token without a usable subject,
/// a malformed x-user-id). Its message is written for the caller and is sent back as is.
/// </summary>
internal sealed class RefusedIdentityException(string reason) : Exception(reason);
