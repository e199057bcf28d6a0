using ChatService.Chats;
using ChatService.Dispatch;
using ChatService.Inference;

namespace ChatService.Tests.Dispatch;

/// <summary>
/// A reply's prompt from its context: the definition it is built from is reused while the speaker, the
/// persona and the system prompt are the same instances (a warm chat's kept definitions), and follows each
/// of them as soon as it is another.
/// </summary>
public sealed class ReplyPromptTests
{
    private static readonly RoutePromptBudget Budget = new(PromptTokenizer.For(PromptTokenizer.O200kBase), 8192, 512);

    private static readonly Character Ada = new("ada", "u", "Ada", "Ada tells {{user}} stories.", "Hello.", "default", CharacterVisibility.Private, DateTimeOffset.UnixEpoch);

    private static UserPersona Persona(string name, string description) =>
        new("p", "u", name, description, IsDefault: true, [], DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);

    private static ReplyContext Context(Character speaker, UserPersona? persona)
    {
        var window = new List<ChatTurn>
        {
            new("c", 1, AuthorRole.Character, speaker.Id, "Hello.", ReplyState.Complete, "cand1", 1, DateTimeOffset.UnixEpoch, null, null),
            new("c", 2, AuthorRole.User, null, "Tell me a story.", ReplyState.Complete, null, 0, DateTimeOffset.UnixEpoch, null, null),
        };
        var reply = new ChatTurn("c", 3, AuthorRole.Character, speaker.Id, "", ReplyState.Pending, "cand3", 1, DateTimeOffset.UnixEpoch, null, 2);
        return new ReplyContext("u", speaker, new Dictionary<string, Character> { [speaker.Id] = speaker }, window, reply, null) { Persona = persona };
    }

    private static string System(ReplyContext context, DispatchOptions options) => ReplyPrompt.Build(context, options, Budget).Messages[0].Text;

    [Fact]
    public void TheSameSpeaker_FollowsItsPersona_AndTheSystemPrompt_AsEachChanges()
    {
        var options = new DispatchOptions();
        var sam = Persona("Sam", "A sailor.");

        Assert.Contains("Ada tells Sam stories.", System(Context(Ada, sam), options), StringComparison.Ordinal);
        Assert.Contains("The user is Sam. A sailor.", System(Context(Ada, sam), options), StringComparison.Ordinal);

        // Another persona (a new instance, as a changed one is read anew), then none: the same speaker instance follows.
        Assert.Contains("The user is Kim. A baker.", System(Context(Ada, Persona("Kim", "A baker.")), options), StringComparison.Ordinal);
        var none = System(Context(Ada, null), options);
        Assert.Contains("Ada tells User stories.", none, StringComparison.Ordinal);
        Assert.DoesNotContain("The user is", none, StringComparison.Ordinal);

        // Another system prompt (configuration reloaded).
        Assert.StartsWith("Speak as Ada.", System(Context(Ada, sam), new DispatchOptions { SystemPrompt = "Speak as {{char}}." }), StringComparison.Ordinal);
        Assert.StartsWith("You are Ada.", System(Context(Ada, sam), options), StringComparison.Ordinal);

        // A changed character is a new instance: its new text is used.
        var changed = Ada with { Persona = "Ada now writes poems for {{user}}." };
        Assert.Contains("Ada now writes poems for Sam.", System(Context(changed, sam), options), StringComparison.Ordinal);
    }
}
