namespace ChatService.Chats;

/// <summary>
/// Decides who answers, given the chat as the recording transaction read it: the rotation cursor
/// must be read in the transaction that advances it, and the speaker settings (and, for NATURAL, the
/// cast's names and talkativeness, <see cref="Chat.Members"/>) come with that same read. Runs again if
/// the transaction is retried, so it must be pure: anything random is drawn from a seed of the chat and
/// the request (<see cref="ReplyPolicy.Draw"/>), never from a generator. It may throw a
/// <see cref="ChatException"/> to refuse the request.
/// </summary>
public delegate SpeakerPlan SpeakerChoice(Chat chat);
