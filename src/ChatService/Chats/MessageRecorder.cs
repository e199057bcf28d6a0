namespace ChatService.Chats;

/// <summary>
/// The recording half of the send pipeline: the user's turn and the owed replies are durable
/// before anything is promised to the caller.
/// </summary>
public sealed class MessageRecorder(IChatStore store)
{
    public Task<SendReceipt> RecordAsync(SendCommand command, CancellationToken cancellationToken) =>
        store.RecordSendAsync(command, cancellationToken);
}
