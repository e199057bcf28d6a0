using ChatService.Api.V1;
using Grpc.Core;

namespace ChatService.Tests.Hostile;

/// <summary>The catalog's fields (listing, order, query) and its page tokens; what a listing may show.</summary>
internal sealed partial class HostileCases
{
    /// <summary>Listings and orders that are no known value, queries that are too long, blank or carry control characters.</summary>
    private HostileCase BadCatalogListing()
    {
        var party = Caller();
        var request = new ListCharactersRequest { PageSize = _random.Next(0, 101), Listing = AnyListing(), Order = AnyOrder(), Query = Pick("", "pa", "ADA") };
        string generator;
        switch (_random.Next(3))
        {
            case 0:
                request.Listing = (CharacterListing)Pick(3, 4, 99, -1, int.MaxValue, int.MinValue);
                generator = "unknown-listing";
                break;
            case 1:
                request.Order = (CharacterOrder)Pick(3, 42, -1, int.MaxValue, int.MinValue);
                generator = "unknown-order";
                break;
            default:
                request.Query = Pick(
                    " " + Garbage.Blank(_random),
                    new string('q', _random.Next(33, 100_000)),
                    string.Concat(Enumerable.Repeat("😀", 33)),
                    "pa\0t",
                    "pat\u0007",
                    "p\r\nat",
                    "\u0085pat\u0085x");
                generator = "bad-query";
                break;
        }

        return Case(request, generator, Invalid, party.UserId);
    }

    /// <summary>
    /// Legitimate listings of every kind, with odd but valid queries: the public catalog shows only public
    /// characters, and never the other user's private ones; a caller's own listing none of the other user's.
    /// </summary>
    private HostileCase CatalogLists()
    {
        var party = Caller();
        var victim = _world.Other(party);
        var listing = AnyListing();
        var request = new ListCharactersRequest
        {
            PageSize = _random.Next(0, 101),
            Listing = listing,
            Order = AnyOrder(),
            Query = Pick("", "p", "PAT", " ada ", "Quinn", "ＰＡＴ", "pät", "%", "_", "'", "\"", "*", "\\", "a b", "😀", new string('z', 32)),
        };
        return Case(request, "catalog-list", Ok, party.UserId, check: listing == CharacterListing.Public ? OnlyPublic(victim) : NoCharactersOf(victim));
    }

    /// <summary>Catalog page tokens used with another listing, order, query or user, tampered; and a token of the caller's own listing in the catalog.</summary>
    private HostileCase BadCatalogToken()
    {
        var party = Caller();
        var victim = _world.Other(party);
        var request = new ListCharactersRequest { PageSize = _random.Next(0, 101), Listing = CharacterListing.Public, Order = CharacterOrder.MostUsed, PageToken = Pick(party.CatalogTokens.ToArray()) };
        var (generator, allowed, caller) = _random.Next(8) switch
        {
            0 => ("catalog-token-in-own-listing", Invalid, party.UserId),
            1 => ("catalog-token-other-order", Invalid, party.UserId),
            2 => ("catalog-token-other-query", Invalid, party.UserId),
            3 => ("catalog-token-of-other-user", Invalid, victim.UserId),
            4 => ("own-list-token-in-catalog", Invalid, party.UserId),
            5 => ("tampered-catalog-token", new[] { StatusCode.InvalidArgument, StatusCode.OK }, party.UserId),
            _ => ("catalog-token", Ok, party.UserId),
        };
        switch (generator)
        {
            case "catalog-token-in-own-listing": request.Listing = Pick(CharacterListing.Own, CharacterListing.Unspecified); break;
            case "catalog-token-other-order": request.Order = Pick(CharacterOrder.Newest, CharacterOrder.Unspecified); break;
            case "catalog-token-other-query": request.Query = Pick("p", "pat", "ada"); break;
            case "own-list-token-in-catalog": request.PageToken = Pick(party.CharacterListTokens.ToArray()); break;
            case "tampered-catalog-token": request.PageToken = Tamper(request.PageToken); break;
        }

        return Case(request, generator, allowed, caller, check: OnlyPublic(caller == party.UserId ? victim : party));
    }

    /// <summary>A ListCharacters answer of the public catalog: public characters only, and none of <paramref name="victim"/>'s private ones.</summary>
    private static Func<object, string?> OnlyPublic(Party victim) =>
        r => r is ListCharactersResponse list
            ? list.Characters.FirstOrDefault(c => c.Visibility != Visibility.Public || c.DeleteTime is not null) is { } hidden
                ? $"the public catalog listed {hidden.CharacterId} ({hidden.Visibility}, deleted: {hidden.DeleteTime is not null})"
                : list.Characters.FirstOrDefault(c => c.CharacterId == victim.Private.CharacterId || c.CharacterId == victim.Quiet.CharacterId) is { } theirs
                    ? $"the public catalog listed {victim.UserId}'s private character {theirs.CharacterId}"
                    : null
            : null;

    private CharacterListing AnyListing() => Pick(CharacterListing.Unspecified, CharacterListing.Own, CharacterListing.Public);

    private CharacterOrder AnyOrder() => Pick(CharacterOrder.Unspecified, CharacterOrder.Newest, CharacterOrder.MostUsed);
}
