namespace ChatService.Chats;

/// <summary>
/// Decides who answers, given the chat as the recording transaction read it: the rotation cursor
/// must be read in the transaction that advances it. Runs again if the transaction is retried, so
/// it must be pure; it may throw a <see cref="ChatException"/> to refuse the request.
/// </summary>
public delegate SpeakerPlan SpeakerChoice(Chat chat);
