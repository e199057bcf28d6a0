using System.Text;
using ChatService.Api.V1;
using Google.Protobuf;
using Grpc.Core;

namespace ChatService.Tests.Hostile;

/// <summary>Caller identity headers that are missing, malformed, not ASCII, ambiguous or look-alikes of a real user.</summary>
internal sealed partial class HostileCases
{
    private HostileCase BadIdentity()
    {
        var victim = Caller();
        var chat = AnyChat(victim);
        var turn = chat.CharacterTurn(_random);
        var (generator, headers, refused) = IdentityHeaders(victim.UserId);
        var theirs = victim.Chats.Select(c => c.ChatId).Concat(victim.Doomed).ToHashSet();
        IMessage request = _random.Next(13) switch
        {
            11 => new UpdateCharacterRequest
            {
                Character = new Character { CharacterId = victim.Private.CharacterId, DisplayName = Marker() },
                UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask { Paths = { "display_name" } },
            },
            12 => new DeletePersonaRequest { PersonaId = victim.Persona.PersonaId },
            0 => new GetChatRequest { ChatId = chat.ChatId },
            1 => new GetHistoryRequest { ChatId = chat.ChatId },
            2 => new SendMessageRequest { ChatId = chat.ChatId, Text = Marker() },
            3 => new StreamReplyRequest { ChatId = chat.ChatId, Seq = turn.Seq },
            4 => new CancelReplyRequest { ChatId = chat.ChatId, Seq = turn.Seq },
            5 => new DeleteChatRequest { ChatId = Pick(victim.Doomed.ToArray()) },
            6 => new GetCharacterRequest { CharacterId = victim.Private.CharacterId },
            // Rejected for its visibility if the identity gets through: no character is created either way.
            7 => new CreateCharacterRequest { DisplayName = Marker(), Persona = "p", Visibility = (Visibility)99 },
            8 => new ListCandidatesRequest { ChatId = chat.ChatId, Seq = turn.Seq },
            9 => new ListCharactersRequest { PageSize = 100 },
            _ => new ListChatsRequest { PageSize = 100 },
        };
        // Refused identities never get further; the others are some user who is not the victim.
        var allowed = refused
            ? [StatusCode.Unauthenticated]
            : request is ListChatsRequest or ListCharactersRequest
                ? new[] { StatusCode.Unauthenticated, StatusCode.InvalidArgument, StatusCode.OK }
                : new[] { StatusCode.Unauthenticated, StatusCode.InvalidArgument, StatusCode.NotFound };
        if (headers is null)
        {
            // A client refuses a text value under a "-bin" key, so this one goes out as a hand-built request.
            var junk = Pick("!!!", "%%%", "a", "@@@@");
            return Case(RpcOf(request), generator, Invalid, (cancellationToken, _) => RawGrpc.PostAsync(_fixture.Factory.Server, RpcOf(request),
                RawGrpc.Frame(request.ToByteArray()), [("x-user-id", _world.Stranger), ("x-junk-bin", junk)], cancellationToken));
        }

        return Case(RpcOf(request), generator, allowed, Call(headers, request,
            r => r is ListChatsResponse list && list.Chats.Any(c => theirs.Contains(c.ChatId)) ? $"{generator} listed {victim.UserId}'s chats" : NoCharactersOf(victim)(r),
            cancelAfter: null), MaybeDeadline());
    }

    /// <summary>
    /// Headers that must not authenticate as <paramref name="victim"/> (null: a "-bin" header that
    /// is not base64). In process, header values reach the service as the strings given here, so
    /// they stand for whatever a peer's raw header bytes could be decoded to.
    /// </summary>
    private (string Generator, Metadata? Headers, bool Refused) IdentityHeaders(string victim) => _random.Next(14) switch
    {
        0 => ("identity-missing", [], true),
        1 => ("identity-empty", new Metadata { { "x-user-id", "" } }, true),
        2 => ("identity-nul", new Metadata { { "x-user-id", victim + "\0" } }, true),
        3 => ("identity-crlf", new Metadata { { "x-user-id", victim.Insert(3, "\r\n") } }, true),
        4 => ("identity-non-ascii", new Metadata { { "x-user-id", victim + "é" } }, true),
        5 => ("identity-lone-surrogate", new Metadata { { "x-user-id", victim + "\ud800" } }, true),
        6 => ("identity-latin1-bytes", new Metadata { { "x-user-id", "\u00ff\u00fe" + victim } }, true),
        7 => ("identity-bidi-override", new Metadata { { "x-user-id", "\u202e" + victim } }, true),
        8 => ("identity-too-long", new Metadata { { "x-user-id", new string('u', _random.Next(129, 4000)) } }, true),
        9 => ("identity-as-binary", new Metadata { { "x-user-id-bin", Encoding.ASCII.GetBytes(victim) } }, true),
        10 => ("identity-case-variant", new Metadata { { "x-user-id", victim.ToUpperInvariant() } }, false),
        11 => ("identity-twice", new Metadata { { "x-user-id", victim }, { "x-user-id", _world.Stranger } }, false),
        12 => ("identity-stranger", new Metadata { { "x-user-id", _world.Stranger } }, false),
        _ => ("binary-header-not-base64", null, true),
    };
}
