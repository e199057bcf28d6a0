using System.Reflection;
using System.Runtime.ExceptionServices;
using ChatService.Api.V1;
using ChatService.Chats;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace ChatService.Tests.Dispatch;

/// <summary>
/// Two settle slots, and a reply ledger whose settle commits are slowed down and counted, so
/// replies finishing together have to queue for a slot.
/// </summary>
public sealed class TwoSettleSlotsFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public SettleSpy Spy { get; } = new();

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Dispatch:MaxConcurrentSettles"] = "2",
    };

    protected override void ConfigureServices(IServiceCollection services)
    {
        var original = services.Last(d => d.ServiceType == typeof(IReplyLedger));
        services.AddSingleton(sp => Spy.Wrap((IReplyLedger)ActivatorUtilities.CreateInstance(sp, original.ImplementationType!)));
    }
}

/// <summary>Counts the reply ledger's settle commits in progress, each held for a while.</summary>
public sealed class SettleSpy
{
    private int _current;
    private int _peak;
    private int _count;

    public int Peak => Volatile.Read(ref _peak);

    public int Count => Volatile.Read(ref _count);

    public IReplyLedger Wrap(IReplyLedger inner)
    {
        var proxy = DispatchProxy.Create<IReplyLedger, Interceptor>();
        ((Interceptor)(object)proxy).Init(inner, this);
        return proxy;
    }

    private async Task<SettledReply?> SettleAsync(IReplyLedger inner, ReplyOutcome outcome, CancellationToken cancellationToken)
    {
        var now = Interlocked.Increment(ref _current);
        Interlocked.Increment(ref _count);
        int peak;
        while (now > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak)
        {
        }

        try
        {
            await Task.Delay(150, cancellationToken);
            return await inner.SettleReplyAsync(outcome, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _current);
        }
    }

    public class Interceptor : DispatchProxy
    {
        private IReplyLedger _inner = null!;
        private SettleSpy _spy = null!;

        internal void Init(IReplyLedger inner, SettleSpy spy) => (_inner, _spy) = (inner, spy);

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod!.Name == nameof(IReplyLedger.SettleReplyAsync))
            {
                return _spy.SettleAsync(_inner, (ReplyOutcome)args![0]!, (CancellationToken)args[1]!);
            }

            try
            {
                return targetMethod.Invoke(_inner, args);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                ExceptionDispatchInfo.Throw(ex.InnerException);
                throw;
            }
        }
    }
}

public sealed class SettleAdmissionTests(TwoSettleSlotsFixture fixture) : ApiTestBase(fixture), IClassFixture<TwoSettleSlotsFixture>
{
    [Fact]
    public async Task RepliesFinishingTogether_AreStoredAtMostTwoAtATime_AndAllComplete()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user, greeting: "");
        var chats = new List<ChatService.Api.V1.Chat>();
        for (var i = 0; i < 8; i++)
        {
            chats.Add(await CreateChatAsync(user, character));
        }

        var exchanges = await Task.WhenAll(chats.Select(chat => SendAsync(user, chat.ChatId, "short answers please")));

        Assert.All(exchanges, events => Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase));
        Assert.Equal(2, fixture.Spy.Peak);
        Assert.True(fixture.Spy.Count >= chats.Count);
        foreach (var chat in chats)
        {
            var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 1 }, cancellationToken: Ct);
            Assert.Equal(TurnState.Complete, history.Turns[0].State);
        }
    }
}
