using ChatService.Chats;
using System.Runtime.CompilerServices;

namespace ChatService.Inference;

public static partial class PromptBuilder
{
    /// <summary>
    /// What a prompt's definition gives before any budget cuts it, kept with the <see cref="CharacterPrompt"/>
    /// instance (a record: the same instance is the same texts). A warm chat's replies pass the same instance
    /// while its speaker and persona are unchanged (see <c>ReplyPrompt</c>), so the placeholders are replaced,
    /// the sections joined and their tokens counted once per definition, not once per reply.
    /// </summary>
    private static readonly ConditionalWeakTable<CharacterPrompt, PreparedDefinition> Prepared = [];

    private static PreparedDefinition Prepare(CharacterPrompt definition) =>
        Prepared.GetValue(definition, static d => new PreparedDefinition(d));

    /// <summary>The definition's texts uncut, and their token counts by the last tokenizer that asked.</summary>
    private sealed class PreparedDefinition
    {
        private Counts? _counts;

        public PreparedDefinition(CharacterPrompt definition)
        {
            PostHistoryText = Macros.Expand(Macros.ExpandOriginal(definition.PostHistoryInstructions, ""), definition.CharacterName, definition.UserName);
            // The post-history instructions are a message of their own: the sections fitted to a budget leave them out.
            Expanded = Sections(definition with { PostHistoryInstructions = "" });
            LeastSystem = Compose(Expanded, 0).System;
            FullSystem = Compose(Expanded, int.MaxValue).System;
            FullPersona = PersonaIn(Expanded, FullSystem.Length);
        }

        /// <summary>The sections with their placeholders replaced (see <see cref="Sections"/>).</summary>
        public IReadOnlyList<Section> Expanded { get; }

        /// <summary>The post-history instructions as sent (placeholders replaced).</summary>
        public string PostHistoryText { get; }

        /// <summary>The first system message at its least: the labels that are always there.</summary>
        public string LeastSystem { get; }

        /// <summary>The first system message uncut, without lore.</summary>
        public string FullSystem { get; }

        /// <summary>The user's persona as <see cref="FullSystem"/> says it.</summary>
        public string FullPersona { get; }

        /// <summary>The counts of the texts above by <paramref name="tokenizer"/> (kept for the last tokenizer asked: a route has one).</summary>
        public Counts CountsBy(PromptTokenizer tokenizer)
        {
            var counts = Volatile.Read(ref _counts);
            if (counts is null || !ReferenceEquals(counts.Tokenizer, tokenizer))
            {
                counts = new Counts(
                    tokenizer,
                    tokenizer.CountMessage(LeastSystem),
                    tokenizer.Count(FullSystem),
                    tokenizer.Count(FullPersona),
                    PostHistoryText.Length > 0 ? tokenizer.CountMessage(PostHistoryText) : 0);
                Volatile.Write(ref _counts, counts);
            }

            return counts;
        }
    }

    /// <param name="LeastSystem">The least first system message, as a message.</param>
    /// <param name="FullSystem">The uncut first system message's text.</param>
    /// <param name="FullPersona">The persona inside it.</param>
    /// <param name="PostHistory">The post-history instructions as a message; 0 when there are none.</param>
    private sealed record Counts(PromptTokenizer Tokenizer, int LeastSystem, int FullSystem, int FullPersona, int PostHistory);
}
