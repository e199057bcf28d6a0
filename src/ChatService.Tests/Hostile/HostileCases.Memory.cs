using ChatService.Api.V1;
using Google.Protobuf;

namespace ChatService.Tests.Hostile;

/// <summary>GetChatMemory and UpdateChatMemory with requests that must be refused (and write nothing), and the owner's own read.</summary>
internal sealed partial class HostileCases
{
    /// <summary>The service's default Memory:MaxNoteChars.</summary>
    private const int MaxNoteChars = 2_000;

    private HostileCase BadChatMemory()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var foreign = AnyChat(_world.Other(party));
        var (request, generator, allowed, check) = _random.Next(7) switch
        {
            0 => ((IMessage)new GetChatMemoryRequest { ChatId = foreign.ChatId }, "memory-get-foreign", NotFound, (Func<object, string?>?)null),
            1 => (new UpdateChatMemoryRequest { ChatId = foreign.ChatId, Note = Marker() }, "memory-update-foreign", NotFound, null),
            2 => (new UpdateChatMemoryRequest { ChatId = chat.ChatId, Note = Marker() + new string('n', _random.Next(MaxNoteChars + 1, 40_000)) }, "memory-long-note", Invalid, null),
            3 => (new UpdateChatMemoryRequest { ChatId = chat.ChatId, Note = Marker(), Depth = Pick(-2, 101, int.MinValue, int.MaxValue) }, "memory-bad-depth", Invalid, null),
            4 => (new UpdateChatMemoryRequest { ChatId = Garbage.BadId(_random), Note = Marker() }, "memory-update-bad-id", Invalid, null),
            5 => (new GetChatMemoryRequest { ChatId = Garbage.BadId(_random) }, "memory-get-bad-id", Invalid, null),
            _ => (new GetChatMemoryRequest { ChatId = chat.ChatId }, "memory-get-own", Ok,
                response => ((ChatMemory)response).ChatId == chat.ChatId ? null : $"GetChatMemory answered for chat {((ChatMemory)response).ChatId}, not {chat.ChatId}"),
        };
        return Case(request, generator, allowed, party.UserId, check);
    }
}
