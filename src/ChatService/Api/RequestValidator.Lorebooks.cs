using ChatService.Chats;
using ChatService.Inference;

namespace ChatService.Api;

internal sealed partial class RequestValidator
{
    private static readonly Dictionary<string, LorebookFields> LorebookMaskPaths = new(StringComparer.Ordinal)
    {
        ["name"] = LorebookFields.Name,
        ["description"] = LorebookFields.Description,
        ["character_id"] = LorebookFields.CharacterId,
        ["scan_depth"] = LorebookFields.ScanDepth,
        ["token_budget"] = LorebookFields.TokenBudget,
        ["entries"] = LorebookFields.Entries,
    };

    private static readonly HashSet<string> ImmutableLorebookFields = new(["lorebook_id", "version", "create_time", "update_time"], StringComparer.Ordinal);

    /// <summary>A CreateLorebook's book, owned by <paramref name="userId"/> under a new id, checked field by field (<see cref="LorebookRules"/>).</summary>
    public static Lorebook NewLorebook(string userId, V1.CreateLorebookRequest request)
    {
        if (request.Lorebook is not { } proto)
        {
            throw ApiErrors.InvalidArgument("lorebook", "lorebook is required");
        }

        var book = Lorebook(proto, Ids.New(), userId, LorebookFields.All, "lorebook.");
        return book;
    }

    /// <summary>An UpdateLorebook: the book's id, the fields the mask names (all when empty) and their values, checked as CreateLorebook checks them.</summary>
    public static LorebookUpdate LorebookUpdate(string userId, V1.UpdateLorebookRequest request)
    {
        if (request.Lorebook is not { } proto)
        {
            throw ApiErrors.InvalidArgument("lorebook", "lorebook is required: its lorebook_id names the book, its other fields are the new values");
        }

        var id = Id(proto.LorebookId, "lorebook.lorebook_id");
        var fields = Mask(request.UpdateMask, LorebookMaskPaths, ImmutableLorebookFields, "Lorebook", LorebookFields.All);
        var values = Lorebook(proto, id, userId, fields, "lorebook.");
        return new LorebookUpdate(id, values, fields, proto.Version == 0 ? null : proto.Version);
    }

    /// <summary>
    /// The book in <paramref name="proto"/>. Fields the mask leaves out are not looked at: they get values
    /// that pass the rules (the store keeps the book's own), so only the named fields can be refused.
    /// </summary>
    private static Lorebook Lorebook(V1.Lorebook proto, string id, string userId, LorebookFields fields, string prefix)
    {
        bool Has(LorebookFields field) => (fields & field) != 0;
        var characterId = Has(LorebookFields.CharacterId) ? OptionalId(proto.CharacterId, prefix + "character_id") : null;
        var book = new Lorebook(id, userId, Has(LorebookFields.Name) ? proto.Name : "-")
        {
            Description = Has(LorebookFields.Description) ? proto.Description : "",
            CharacterId = characterId,
            ScanDepth = Has(LorebookFields.ScanDepth) && proto.ScanDepth != 0 ? proto.ScanDepth : LoreLimits.DefaultScanDepth,
            TokenBudget = Has(LorebookFields.TokenBudget) ? proto.TokenBudget : 0,
            Entries = Has(LorebookFields.Entries) ? Entries(proto.Entries) : [],
        };
        LorebookRules.Check(book, (path, problem) => ApiErrors.InvalidArgument(prefix + path, $"{prefix}{path} {problem}"));
        return book;
    }

    private static List<LoreEntry> Entries(IReadOnlyList<V1.LoreEntry> entries) => entries
        .Select((e, i) => new LoreEntry(e.EntryId.Length == 0 ? (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) : e.EntryId)
        {
            Comment = e.Comment,
            Keys = [.. e.Keys],
            SecondaryKeys = [.. e.SecondaryKeys],
            Selective = e.Selective,
            UseRegex = e.UseRegex,
            CaseSensitive = e.CaseSensitive,
            MatchWholeWords = !e.MatchAnywhere,
            Content = e.Content,
            Constant = e.Constant,
            Enabled = !e.Disabled,
            Position = (LorePosition)(int)e.Position,
            Order = e.Order,
            Depth = e.Depth,
            ScanDepth = e.ScanDepth == 0 ? null : e.ScanDepth,
        })
        .ToList();
}
