namespace ChatService.Cards;

/// <summary>Wires Character Card import and export.</summary>
public static class CardsExtensions
{
    public static IHostApplicationBuilder AddCharacterCards(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<CharacterCards>();
        return builder;
    }
}
