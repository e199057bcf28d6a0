using ChatService.Chats;
using ChatService.Dispatch;
using Google.Protobuf.WellKnownTypes;

namespace ChatService.Api;

/// <summary>
/// Maps domain records to the public API's messages. Proto types stop at this folder, but for one
/// form: the history cache keeps turns as <see cref="TurnWire"/> bytes, so pages go out undecoded.
/// </summary>
internal static class ApiMapper
{
    /// <summary>A character as the API shows it; the card bookkeeping (spec, extras) stays inside.</summary>
    public static V1.Character ToProto(this Character character) => new()
    {
        CharacterId = character.Id,
        DisplayName = character.DisplayName,
        Persona = character.Persona,
        Greeting = character.Greeting ?? "",
        ModelRoute = character.ModelRoute,
        Visibility = character.Visibility.ToProto(),
        CreateTime = Timestamp.FromDateTimeOffset(character.CreateTime),
        Description = character.Description,
        Personality = character.Personality,
        Scenario = character.Scenario,
        ExampleDialogues = character.ExampleDialogues,
        SystemPrompt = character.SystemPrompt,
        PostHistoryInstructions = character.PostHistoryInstructions,
        AlternateGreetings = { character.AlternateGreetings },
        CreatorNotes = character.CreatorNotes,
        Tags = { character.Tags },
        AvatarUrl = character.AvatarUrl,
        Creator = character.Creator,
        CharacterVersion = character.CharacterVersion,
        Version = character.Version,
        UpdateTime = character.UpdateTime is { } updated ? Timestamp.FromDateTimeOffset(updated) : null,
        DeleteTime = character.DeleteTime is { } deleted ? Timestamp.FromDateTimeOffset(deleted) : null,
        ChatCount = character.ChatCount,
        Talkativeness = character.Talkativeness,
    };

    public static V1.Visibility ToProto(this CharacterVisibility visibility) => visibility switch
    {
        CharacterVisibility.Public => V1.Visibility.Public,
        CharacterVisibility.Unlisted => V1.Visibility.Unlisted,
        _ => V1.Visibility.Private,
    };

    public static V1.Persona ToProto(this UserPersona persona) => new()
    {
        PersonaId = persona.Id,
        Name = persona.Name,
        Description = persona.Description,
        IsDefault = persona.IsDefault,
        CharacterIds = { persona.CharacterIds },
        CreateTime = Timestamp.FromDateTimeOffset(persona.CreateTime),
        UpdateTime = Timestamp.FromDateTimeOffset(persona.UpdateTime),
    };

    public static V1.ReplyPrompt ToProto(this StoredPrompt prompt) => new()
    {
        CandidateId = prompt.CandidateId,
        Messages = { prompt.Messages?.Select(m => new V1.PromptMessage { Role = m.Role, Content = m.Content }) ?? [] },
        Sections = { prompt.Sections.Select(s => new V1.PromptSectionTokens { Section = s.Section, Tokens = s.Tokens }) },
        TotalTokens = prompt.TotalTokens,
        BudgetTokens = prompt.BudgetTokens,
        Tokenizer = prompt.Tokenizer,
        MessagesOmitted = prompt.Messages is null,
        StoreTime = Timestamp.FromDateTimeOffset(prompt.StoreTime),
    };

    public static V1.Chat ToProto(this Chat chat) => new()
    {
        ChatId = chat.Id,
        CharacterIds = { chat.CharacterIds },
        Title = chat.Title,
        CreateTime = Timestamp.FromDateTimeOffset(chat.CreateTime),
        LastActiveTime = Timestamp.FromDateTimeOffset(chat.LastActiveTime),
        LastMessagePreview = chat.LastMessagePreview,
        LastSeq = chat.LastSeq,
        PinnedSeqs = { chat.PinnedSeqs ?? [] },
        ForkedFrom = chat.ForkedFrom is { } origin ? new V1.ForkedFrom { ChatId = origin.ChatId, Seq = origin.Seq } : null,
        PersonaId = chat.PersonaId ?? "",
        SpeakerStrategy = chat.Speakers?.Strategy.ToProto() ?? V1.SpeakerStrategy.Unspecified,
        MutedCharacterIds = { chat.Speakers?.Muted ?? [] },
        Archived = chat.ArchiveTime is not null,
        ArchiveTime = chat.ArchiveTime is { } archived ? Timestamp.FromDateTimeOffset(archived) : null,
    };

    public static V1.SpeakerStrategy ToProto(this SpeakerStrategy strategy) => strategy switch
    {
        SpeakerStrategy.List => V1.SpeakerStrategy.List,
        SpeakerStrategy.Natural => V1.SpeakerStrategy.Natural,
        _ => V1.SpeakerStrategy.Rotation,
    };

    public static V1.Turn ToProto(this ChatTurn turn) => new()
    {
        ChatId = turn.ChatId,
        Seq = turn.Seq,
        Role = turn.Role == AuthorRole.User ? V1.AuthorRole.User : V1.AuthorRole.Character,
        CharacterId = turn.CharacterId ?? "",
        Text = turn.Text,
        State = turn.State.ToProto(),
        CandidateId = turn.CandidateId ?? "",
        CandidateCount = turn.CandidateCount,
        CreateTime = Timestamp.FromDateTimeOffset(turn.CreateTime),
        FailureReason = turn.FailureReason ?? "",
        ReplyToSeq = turn.ReplyToSeq ?? 0,
        Rating = turn.Rating?.ToProto(),
        Edited = turn.Edited,
        Hidden = turn.Hidden,
        Continuations = turn.Continuations,
        FilterCategory = turn.FilterCategory ?? "",
    };

    public static V1.Candidate ToProto(this TurnCandidate candidate) => new()
    {
        CandidateId = candidate.CandidateId,
        Text = candidate.Text,
        State = candidate.State.ToProto(),
        FailureReason = candidate.FailureReason ?? "",
        CreateTime = Timestamp.FromDateTimeOffset(candidate.CreateTime),
        Primary = candidate.IsPrimary,
        Rating = candidate.Rating?.ToProto(),
        Edited = candidate.Edited,
        FilterCategory = candidate.FilterCategory ?? "",
    };

    public static V1.TurnRevision ToProto(this TextRevision revision) => new()
    {
        Revision = revision.Revision,
        CandidateId = revision.CandidateId ?? "",
        Text = revision.Text,
        EditTime = Timestamp.FromDateTimeOffset(revision.EditTime),
    };

    public static V1.Rating ToProto(this TurnRating rating) => new()
    {
        Stars = rating.Stars,
        Tags = { rating.Tags },
        Comment = rating.Comment ?? "",
        UpdateTime = Timestamp.FromDateTimeOffset(rating.UpdateTime),
    };

    /// <summary>The inverse of <see cref="ToProto(ChatTurn)"/> (the version is not on the wire: 0).</summary>
    public static ChatTurn ToDomain(this V1.Turn turn) => new(
        ChatId: turn.ChatId,
        Seq: turn.Seq,
        Role: turn.Role == V1.AuthorRole.User ? AuthorRole.User : AuthorRole.Character,
        CharacterId: turn.CharacterId.Length == 0 ? null : turn.CharacterId,
        Text: turn.Text,
        State: turn.State switch
        {
            V1.TurnState.Pending => ReplyState.Pending,
            V1.TurnState.Streaming => ReplyState.Streaming,
            V1.TurnState.Failed => ReplyState.Failed,
            V1.TurnState.Cancelled => ReplyState.Cancelled,
            V1.TurnState.Filtered => ReplyState.Filtered,
            _ => ReplyState.Complete,
        },
        CandidateId: turn.CandidateId.Length == 0 ? null : turn.CandidateId,
        CandidateCount: turn.CandidateCount,
        CreateTime: turn.CreateTime?.ToDateTimeOffset() ?? default,
        FailureReason: turn.FailureReason.Length == 0 ? null : turn.FailureReason,
        ReplyToSeq: turn.ReplyToSeq == 0 ? null : turn.ReplyToSeq,
        Edited: turn.Edited,
        Hidden: turn.Hidden,
        Rating: turn.Rating is { } rating ? new TurnRating(rating.Stars, [.. rating.Tags], rating.Comment.Length == 0 ? null : rating.Comment, rating.UpdateTime?.ToDateTimeOffset() ?? default) : null)
    {
        Continuations = turn.Continuations,
        FilterCategory = turn.FilterCategory.Length == 0 ? null : turn.FilterCategory,
    };

    public static V1.TurnState ToProto(this ReplyState state) => state switch
    {
        ReplyState.Pending => V1.TurnState.Pending,
        ReplyState.Streaming => V1.TurnState.Streaming,
        ReplyState.Complete => V1.TurnState.Complete,
        ReplyState.Failed => V1.TurnState.Failed,
        ReplyState.Cancelled => V1.TurnState.Cancelled,
        ReplyState.Filtered => V1.TurnState.Filtered,
        _ => V1.TurnState.Unspecified,
    };

    /// <summary>
    /// The first event of a send, regenerate or continue: what was recorded, keyed to the first
    /// owed reply (sequence 1 of its event log).
    /// </summary>
    public static V1.ReplyEvent Accepted(ChatTurn? userTurn, IReadOnlyList<ChatTurn> pending, bool duplicate)
    {
        var first = pending.Count > 0 ? pending[0] : userTurn!;
        var accepted = new V1.ReplyEvent.Types.Accepted { PendingTurns = { pending.Select(ToProto) }, Duplicate = duplicate };
        if (userTurn is not null)
        {
            accepted.UserTurn = userTurn.ToProto();
        }

        // A continuation's events are numbered in its own range (ReplyKey.SequenceBase).
        var continuation = first.Role == AuthorRole.Character ? first.Continuations : 0;
        accepted.Continuation = continuation > 0;
        return new V1.ReplyEvent
        {
            ChatId = first.ChatId,
            Seq = first.Seq,
            CandidateId = first.CandidateId ?? "",
            Sequence = ((long)continuation << ReplyKey.ContinuationShift) + 1,
            Accepted = accepted,
        };
    }

    public static V1.ReplyEvent ToProto(ReplyKey key, ReplyUpdate update)
    {
        var e = new V1.ReplyEvent { ChatId = key.ChatId, Seq = key.Seq, CandidateId = key.CandidateId, Sequence = key.SequenceBase + update.Sequence };
        switch (update.Kind)
        {
            case ReplyUpdateKind.Accepted:
                e.Accepted = new V1.ReplyEvent.Types.Accepted { Continuation = key.Continuation > 0 };
                if (update.Turn is not null)
                {
                    e.Accepted.PendingTurns.Add(update.Turn.ToProto());
                }

                break;
            case ReplyUpdateKind.Started:
                e.Started = new V1.ReplyEvent.Types.Started { CharacterId = update.CharacterId ?? "" };
                break;
            case ReplyUpdateKind.Delta:
                e.Delta = new V1.ReplyEvent.Types.Delta { Text = update.Text ?? "" };
                break;
            case ReplyUpdateKind.Restarted:
                e.Restarted = new V1.ReplyEvent.Types.Restarted { Attempt = update.Attempt, Reason = update.Text ?? "" };
                break;
            case ReplyUpdateKind.Completed:
                e.Completed = new V1.ReplyEvent.Types.Completed { Turn = update.Turn?.ToProto() };
                break;
            default:
                e.Failed = new V1.ReplyEvent.Types.Failed
                {
                    Code = ReplyFailureCodes.Name(update.FailureCode),
                    Reason = update.FailureReason ?? "",
                    Turn = update.Turn?.ToProto(),
                    FilterCategory = update.Turn?.FilterCategory ?? "",
                };
                break;
        }

        return e;
    }
}
