using ChatService.Cards;
using ChatService.Chats;
using ChatService.Inference;
using ChatService.Tests.Cards;

namespace ChatService.Tests.Lore;

/// <summary>A card's character_book read as the imported character's lorebook; a book the rules refuse refuses the card, naming its JSON path.</summary>
public sealed class CardBookTests
{
    [Fact]
    public void AV2CardsBook_BecomesALorebook_WithItsEntriesMapped()
    {
        var book = CardReader.Read(CardFixtures.V2, "json").Book;

        Assert.NotNull(book);
        Assert.Equal("Kestrel lore", book.Name);
        Assert.Equal("The ship and its crew", book.Description);
        Assert.Equal(4, book.ScanDepth);
        Assert.Equal(512, book.TokenBudget);
        Assert.Equal(2, book.Entries.Count);
        var ship = book.Entries[0];
        Assert.Equal(["Kestrel", "ship"], ship.Keys);
        Assert.Equal("core", ship.Comment);
        Assert.Equal(LorePosition.BeforeDefinition, ship.Position);
        Assert.Equal(100, ship.Order);
        Assert.True(ship.Enabled);
        Assert.False(ship.CaseSensitive);
        var jory = book.Entries[1];
        Assert.True(jory.Selective);
        Assert.Equal(["engine", "boiler"], jory.SecondaryKeys);
        Assert.Equal(LorePosition.AfterDefinition, jory.Position);
        Assert.Equal(110, jory.Order);
        Assert.Equal(["1", "2"], book.Entries.Select(e => e.Id));
    }

    [Fact]
    public void AV3CardsBook_KeepsItsRegexKeys_AndReadsTheDepthDecorator()
    {
        var entry = Assert.Single(CardReader.Read(CardFixtures.V3, "json").Book!.Entries);

        Assert.Equal(["/quantum|particle/i"], entry.Keys);
        Assert.True(entry.UseRegex);
        Assert.Equal(LorePosition.AtDepth, entry.Position);
        Assert.Equal(3, entry.Depth);
        Assert.Equal("The accelerator ring runs under the old cathedral.", entry.Content);
    }

    [Fact]
    public void SillyTavernsEntryExtensions_AreRead_AndBlankKeysSkipped()
    {
        var card = """
            {"spec":"chara_card_v2","spec_version":"2.0","data":{"name":"Ash","character_book":{"entries":[
              {"keys":["Ember", " "],"content":"c","extensions":{"position":4,"depth":1,"scan_depth":5,"case_sensitive":true,"match_whole_words":false},"insertion_order":12.7},
              {"keys":[""],"content":"no keys"}
            ]}}}
            """;

        var book = CardReader.Read(card, "json").Book!;

        Assert.Equal("Ash's lorebook", book.Name);
        var ember = book.Entries[0];
        Assert.Equal(["Ember"], ember.Keys);
        Assert.Equal((LorePosition.AtDepth, 1, 5, true, false, 12), (ember.Position, ember.Depth, ember.ScanDepth, ember.CaseSensitive, ember.MatchWholeWords, ember.Order));
        Assert.False(book.Entries[1].Enabled);
    }

    [Fact]
    public void ACardWithoutABook_HasNone()
    {
        Assert.Null(CardReader.Read(CardFixtures.NameOnly, "json").Book);
    }

    [Theory]
    [InlineData("""{"keys":["/(unclosed/"],"content":"c"}""", "data.character_book.entries[0].keys[0]")]
    [InlineData("""{"keys":"dragon","content":"c"}""", "data.character_book.entries[0].keys")]
    [InlineData("""{"keys":["a"],"content":"c","enabled":"yes"}""", "data.character_book.entries[0].enabled")]
    [InlineData("""{"keys":["a"],"content":"c","insertion_order":"first"}""", "data.character_book.entries[0].insertion_order")]
    [InlineData("""{"keys":["a"],"content":"c","extensions":{"depth":-4,"position":4}}""", "data.character_book.entries[0].depth")]
    public void ABookTheRulesRefuse_RefusesTheCard_NamingThePath(string entry, string path)
    {
        var card = """{"spec":"chara_card_v2","spec_version":"2.0","data":{"name":"Ash","character_book":{"entries":[""" + entry + "]}}}";

        var error = Assert.Throws<ChatException>(() => CardReader.Read(card, "json"));

        Assert.Equal(ChatErrorKind.InvalidArgument, error.Kind);
        Assert.Equal("json", error.Field);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }
}
