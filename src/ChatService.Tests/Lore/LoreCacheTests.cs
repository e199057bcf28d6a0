using ChatService.Api.V1;
using ChatService.Tests.Cache;
using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Lore;

/// <summary>
/// A warm exchange with lore costs Spanner what one without costs, nothing: the reply's definitions,
/// books included, come from this replica's copy while their tokens in Redis stand (a book's token is
/// taken from the reply after the one that first read it), and a changed book is read again once.
/// </summary>
public sealed class LoreCacheTests(QuietFixture fixture) : QuietCacheTestBase(fixture)
{
    [Fact]
    public async Task AWarmExchangeWithACharactersAndAChatsBook_ReadsNothing_UntilABookChanges()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var character = await CreateCharacterAsync(user);
        var chat = await CreateChatAsync(user, character);
        await client.CreateLorebookAsync(new CreateLorebookRequest
        {
            Lorebook = new Lorebook { Name = "Own", CharacterId = character.CharacterId, Entries = { new LoreEntry { Keys = { "/drag(on|ons)/i" }, Content = "Dragons." } } },
        }, cancellationToken: Ct);
        var chatBook = await client.CreateLorebookAsync(new CreateLorebookRequest
        {
            Lorebook = new Lorebook { Name = "Chat's", Entries = { new LoreEntry { Constant = true, Content = "Always." } } },
        }, cancellationToken: Ct);
        await client.AttachLorebookAsync(new AttachLorebookRequest { ChatId = chat.ChatId, LorebookId = chatBook.LorebookId }, cancellationToken: Ct);
        await SendAsync(user, chat.ChatId, "warm up: a dragon");
        // The first reply learnt which books the chat uses; this one takes their tokens along.
        await SendAsync(user, chat.ChatId, "warm up: the books' tokens");
        await Fixture.ChatCountsFoldedAsync(Ct);

        var reads = Spanner.SingleUseReads;
        var commits = Spanner.Commits;
        var exchange = await SendAsync(user, chat.ChatId, "dragons again");
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, exchange[^1].EventCase);
        Assert.Equal(0, Spanner.SingleUseReads - reads);
        Assert.Equal(2, Spanner.Commits - commits);

        chatBook.Entries[0].Content = "Always, now.";
        await client.UpdateLorebookAsync(new UpdateLorebookRequest { Lorebook = chatBook }, cancellationToken: Ct);
        reads = Spanner.SingleUseReads;
        await SendAsync(user, chat.ChatId, "after the change");
        // The definitions, then the changed book, once.
        Assert.Equal(2, Spanner.SingleUseReads - reads);
        reads = Spanner.SingleUseReads;
        await SendAsync(user, chat.ChatId, "and warm again");
        Assert.Equal(0, Spanner.SingleUseReads - reads);
    }
}
