using System.IO.Compression;
using System.Text;
using ChatService.Api.V1;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;

namespace ChatService.Tests.Hostile;

/// <summary>
/// Bytes on the wire: request messages that do not parse (truncated, wrong wire types, invalid
/// UTF-8, bad tags, nesting bombs) or parse as something else, and gRPC frames that are broken.
/// Requests to RPCs that write carry a poison field that the service rejects on validation
/// (placed so that no cut or override can remove it), so they can never be accepted.
/// </summary>
internal sealed partial class HostileCases
{
    private static readonly string[] StreamingRpcs = ["SendMessage", "StreamReply", "Regenerate", "ContinueChat", "ContinueReply"];

    private HostileCase WireGarbage()
    {
        var party = Caller();
        var (request, poison) = WireBase(party);
        var rpc = RpcOf(request);
        var bytes = request.ToByteArray();
        var text = StringField(request.Descriptor);
        var (generator, body) = _random.Next(13) switch
        {
            // Poison on both sides: random bytes could override the first or swallow the second, not both.
            0 => ("random-bytes", [.. poison, .. Garbage.Bytes(_random, 1, 64), .. poison]),
            1 => ("truncated-message", Truncate([.. poison, .. bytes])),
            2 => ("wrong-wire-type", [.. bytes, .. Pick<byte[]>([0x08, 0x2a], [0x0d, 1, 2, 3, 4], [0x11, 1, 2, 3, 4, 5, 6, 7, 8], [0x10 | 2, 3, 0x61, 0x62, 0x63]), .. poison]),
            3 => ("invalid-utf8", [.. bytes, .. Field(text, Pick<byte[]>([0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x61, 0xfe])), .. poison]),
            4 => ("overlong-varint", [.. poison, 0x08, .. Enumerable.Repeat((byte)0xff, 10), 0x01]),
            5 => ("unterminated-group", [.. poison, .. bytes, 0x0b]),
            6 => ("stray-end-group", [.. poison, 0x0c, .. bytes]),
            7 => ("field-number-zero", [.. poison, 0x00, 0x01]),
            8 => ("nesting-bomb", [.. poison, .. Enumerable.Repeat((byte)0x0b, _random.Next(101, 5000))]),
            9 => ("length-past-end", [.. poison, 0x0a, 0x7f, 0x61]),
            10 => ("negative-length", [.. poison, 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
            11 => ("other-message-type", [.. OtherMessage(party).ToByteArray(), .. poison]),
            _ => ("empty-message", [.. poison]),
        };
        var allowed = poison.Length == 0 ? [.. Refused, StatusCode.OK] : Refused;
        var headers = As(party.UserId);
        return Case(rpc, generator, allowed, (cancellationToken, deadline) => StreamingRpcs.Contains(rpc)
            ? RawGrpc.ServerStreamingAsync(_fixture.Invoker, rpc, body, new CallOptions(headers, deadline, cancellationToken))
            : RawGrpc.UnaryAsync(_fixture.Invoker, rpc, body, new CallOptions(headers, deadline, cancellationToken)), MaybeDeadline());
    }

    /// <summary>A well-formed message in a broken gRPC frame, sent as a hand-built HTTP/2 request.</summary>
    private HostileCase BrokenFrame()
    {
        var party = Caller();
        var (request, poison) = WireBase(party);
        var rpc = RpcOf(request);
        byte[] message = [.. request.ToByteArray(), .. poison];
        var app = poison.Length == 0 ? [.. Refused, StatusCode.OK] : Refused;
        string? encoding = null;
        var (generator, body, allowed) = _random.Next(14) switch
        {
            0 => ("empty-body", [], Invalid),
            1 => ("short-header", RawGrpc.Frame(message)[..(_random.Next(1, 5))], Invalid),
            2 => ("unknown-compressed-flag", RawGrpc.Frame(message, flag: (byte)_random.Next(2, 256)), Invalid),
            3 => ("truncated-frame", RawGrpc.Frame(message, length: (uint)(message.Length + _random.Next(1, 1000))), Invalid),
            4 => ("trailing-bytes", [.. RawGrpc.Frame(message, length: (uint)Math.Max(0, message.Length - 1)), 0x00], Invalid),
            5 => ("two-messages", [.. RawGrpc.Frame(message), .. RawGrpc.Frame(message)], Invalid),
            6 => ("compressed-without-encoding", RawGrpc.Frame(message, flag: 1), Invalid),
            7 => ("compressed-as-identity", RawGrpc.Frame(message, flag: 1), Invalid),
            8 => ("gzip-garbage", RawGrpc.Frame(Garbage.Bytes(_random, 1, 200), flag: 1), Invalid),
            9 => ("gzip-message", RawGrpc.Frame(Gzip(message), flag: 1), app),
            10 => ("gzip-bomb", RawGrpc.Frame(Gzip(new byte[2 * 1024 * 1024]), flag: 1), [StatusCode.ResourceExhausted]),
            11 => ("length-4gib", RawGrpc.Frame(message, length: uint.MaxValue), [StatusCode.ResourceExhausted]),
            12 => ("unsupported-encoding", RawGrpc.Frame(message, flag: 1), [StatusCode.Unimplemented]),
            _ => ("deflate-message", RawGrpc.Frame(Deflate(message), flag: 1), app),
        };
        encoding = generator switch
        {
            "compressed-as-identity" => "identity",
            "gzip-garbage" or "gzip-message" or "gzip-bomb" => "gzip",
            "deflate-message" => "deflate",
            "unsupported-encoding" => "snappy-9",
            _ => null,
        };
        List<(string, string)> headers = [("x-user-id", party.UserId)];
        if (encoding is not null)
        {
            headers.Add(("grpc-encoding", encoding));
        }

        return Case(rpc, generator, allowed, (cancellationToken, _) => RawGrpc.PostAsync(_fixture.Factory.Server, rpc, body, headers, cancellationToken));
    }

    /// <summary>
    /// A request of a random RPC, and the poison that makes a writing RPC's request invalid: the
    /// request itself never sets the poison's field, so the poison holds wherever it is placed.
    /// Reads get no poison.
    /// </summary>
    private (IMessage Request, byte[] Poison) WireBase(Party party)
    {
        var chat = AnyChat(party);
        var seq = chat.CharacterTurn(_random).Seq;
        var badId = StringBytes(3, "bad id");
        return _random.Next(18) switch
        {
            // request_id (field 3) poisoned: never a continuation.
            17 => (new ContinueReplyRequest { ChatId = chat.ChatId, Seq = chat.LastSeq }, badId),
            // character_ids gets an id that is not one, wherever the poison lands.
            15 => (new CreatePersonaRequest { Name = Marker() }, StringBytes(4, "not-an-id")),
            // DeletePersona has one field; aim it at another user's persona and poison that field too.
            16 => (new DeletePersonaRequest { PersonaId = _world.Other(party).AltPersona.PersonaId }, StringBytes(1, "not-an-id")),
            0 => (new CreateCharacterRequest { DisplayName = Marker(), Persona = Marker() }, [0x28, 99]),
            1 => (new GetCharacterRequest { CharacterId = party.Private.CharacterId }, []),
            2 => (new CreateChatRequest { CharacterIds = { party.Private.CharacterId } }, StringBytes(2, Marker() + "\u0007")),
            3 => (new GetChatRequest { ChatId = chat.ChatId }, []),
            4 => (new ListChatsRequest { PageSize = 5 }, []),
            // DeleteChat has one field; aim it at another user's chat and poison that field too.
            5 => (new DeleteChatRequest { ChatId = Pick(_world.Other(party).Doomed.ToArray()) }, StringBytes(1, "not-an-id")),
            6 => (new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 5 }, []),
            7 => (new SendMessageRequest { ChatId = chat.ChatId, Text = Marker() }, badId),
            8 => (new StreamReplyRequest { ChatId = chat.ChatId, Seq = seq }, []),
            9 => (new CancelReplyRequest { ChatId = chat.ChatId, Seq = seq }, StringBytes(3, "bad")),
            10 => (new RegenerateRequest { ChatId = chat.ChatId, Seq = seq }, badId),
            11 => (new SelectCandidateRequest { ChatId = chat.ChatId, Seq = seq }, StringBytes(3, "bad")),
            12 => (new ListCharactersRequest { PageSize = 5, Listing = AnyListing(), Order = AnyOrder(), Query = Pick("", "pat") }, []),
            13 => (new ListCandidatesRequest { ChatId = chat.ChatId, Seq = seq }, []),
            _ => (new ContinueChatRequest { ChatId = party.Group.ChatId, Turns = 2 }, badId),
        };
    }

    /// <summary>A legitimate request of some RPC, to be sent to another.</summary>
    private IMessage OtherMessage(Party party)
    {
        var chat = AnyChat(party);
        return _random.Next(5) switch
        {
            0 => new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 3 },
            1 => new RegenerateRequest { ChatId = chat.ChatId, Seq = chat.CharacterTurn(_random).Seq, RequestId = FreshRequestId() },
            2 => new ContinueChatRequest { ChatId = chat.ChatId, Turns = 3, RequestId = FreshRequestId() },
            3 => chat.Turns[_random.Next(chat.Turns.Count)],
            _ => new ReplyEvent { ChatId = chat.ChatId, Seq = 3, Sequence = 1, Delta = new ReplyEvent.Types.Delta { Text = Marker() } },
        };
    }

    private byte[] Truncate(byte[] message) => message.Length < 2 ? message : message[..(_random.Next(1, message.Length))];

    /// <summary>The number of some string field of the message (every request has one).</summary>
    private static int StringField(MessageDescriptor descriptor) =>
        descriptor.Fields.InFieldNumberOrder().First(f => f.FieldType == FieldType.String).FieldNumber;

    /// <summary>A length-delimited field with raw contents.</summary>
    private static byte[] Field(int number, byte[] contents) => [(byte)((number << 3) | 2), (byte)contents.Length, .. contents];

    private static byte[] StringBytes(int number, string value) => Field(number, Encoding.UTF8.GetBytes(value));

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    private static byte[] Deflate(byte[] data)
    {
        using var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.Fastest))
        {
            zlib.Write(data);
        }

        return output.ToArray();
    }
}
