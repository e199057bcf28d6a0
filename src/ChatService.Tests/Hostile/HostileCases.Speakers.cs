using ChatService.Api.V1;
using Google.Protobuf;
using FieldMask = Google.Protobuf.WellKnownTypes.FieldMask;

namespace ChatService.Tests.Hostile;

/// <summary>
/// Group speaker control refused: UpdateChat with bad masks, strategies and muted lists, or on chats that are
/// not the caller's; CreateChat's speaker settings; talkativeness out of 0..1. None of them writes anything.
/// </summary>
internal sealed partial class HostileCases
{
    private HostileCase BadSpeakerControl()
    {
        var party = Caller();
        var victim = _world.Other(party);
        var group = party.Group;
        var everyone = Pick(group, party.OneToOne);
        UpdateChatRequest Update(string chatId, Action<Chat> set, params string[] paths)
        {
            // The title is set only when the mask names it (no case here does): the marker finds it if it were ever stored.
            var chat = new Chat { ChatId = chatId, Title = Marker(), SpeakerStrategy = SpeakerStrategy.List };
            set(chat);
            return new UpdateChatRequest { Chat = chat, UpdateMask = new FieldMask { Paths = { paths } } };
        }

        var (request, generator, allowed) = _random.Next(16) switch
        {
            0 => ((IMessage)Update(group.ChatId, c => c.SpeakerStrategy = (SpeakerStrategy)Pick(4, 99, -1, int.MaxValue), "speaker_strategy"), "update-chat-unknown-strategy", Invalid),
            1 => (Update(group.ChatId, c => c.MutedCharacterIds.Add(Pick(Guid.NewGuid().ToString(), victim.Private.CharacterId, party.Unlisted.CharacterId)), "muted_character_ids"),
                "update-chat-mute-non-member", Invalid),
            2 => (Update(everyone.ChatId, c => c.MutedCharacterIds.Add(everyone.CharacterIds), Pick("muted_character_ids", "")), "update-chat-mute-everyone", Invalid),
            3 => (Update(group.ChatId, c => c.MutedCharacterIds.Add([group.CharacterIds[0], group.CharacterIds[0]]), "muted_character_ids"), "update-chat-repeated-mute", Invalid),
            4 => (Update(group.ChatId, c => c.MutedCharacterIds.Add(Garbage.BadId(_random)), "muted_character_ids"), "update-chat-malformed-mute", Invalid),
            5 => (Update(group.ChatId, c => c.MutedCharacterIds.Add(Enumerable.Range(0, _random.Next(9, 100)).Select(_ => Guid.NewGuid().ToString())), "muted_character_ids"),
                "update-chat-too-many-mutes", Invalid),
            6 => (Update(group.ChatId, _ => { }, "speaker_strategy", Pick("archive_time", "character_ids", "chat_id", "pinned_seqs", "speakerStrategy", "", "*", "chat.speaker_strategy", new string('p', 3000))),
                "update-chat-bad-path", Invalid),
            7 => (new UpdateChatRequest { UpdateMask = new FieldMask { Paths = { "speaker_strategy" } } }, "update-chat-no-chat", Invalid),
            8 => (Update(Garbage.BadId(_random), _ => { }), "update-chat-malformed-id", Invalid),
            9 => (Update(AnyChat(victim).ChatId, _ => { }), "update-chat-foreign", NotFound),
            10 => (Update(Guid.NewGuid().ToString(), _ => { }), "update-chat-unknown", NotFound),
            11 => (new CreateChatRequest { CharacterIds = { party.Private.CharacterId, party.Quiet.CharacterId }, Title = Marker(), SpeakerStrategy = (SpeakerStrategy)Pick(4, -7) },
                "create-chat-unknown-strategy", Invalid),
            12 => (new CreateChatRequest
            {
                CharacterIds = { party.Private.CharacterId, party.Quiet.CharacterId },
                Title = Marker(),
                MutedCharacterIds = { Pick<string[]>([party.Public.CharacterId], [party.Private.CharacterId, party.Quiet.CharacterId], [party.Quiet.CharacterId, party.Quiet.CharacterId]) },
            }, "create-chat-bad-mutes", Invalid),
            13 => (new CreateCharacterRequest { DisplayName = Marker(), Persona = Marker(), Talkativeness = Pick(-0.001, 1.0001, double.NaN, double.NegativeInfinity, 1e300) },
                "create-character-bad-talkativeness", Invalid),
            14 => (new UpdateCharacterRequest
            {
                Character = new Character { CharacterId = party.Private.CharacterId, DisplayName = Marker(), Talkativeness = Pick(-1, 2, double.NaN) },
                UpdateMask = new FieldMask { Paths = { Pick<string[]>(["talkativeness"], ["display_name", "talkativeness"]) } },
            }, "update-character-bad-talkativeness", Invalid),
            _ => (new UpdateChatRequest { Chat = new Chat { ChatId = group.ChatId, SpeakerStrategy = SpeakerStrategy.Natural }, UpdateMask = new FieldMask { Paths = { "speaker_strategy" } } },
                "update-chat-another-users", NotFound),
        };
        // The last case is the victim's: the caller is someone else.
        return Case(request, generator, allowed, generator == "update-chat-another-users" ? victim.UserId : party.UserId);
    }
}
