using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace ChatService.Tests.Auth;

internal static class TokenClients
{
    /// <summary>A client that sends these metadata headers (authorization, x-user-id...) on every call.</summary>
    public static ChatService.Api.V1.ChatService.ChatServiceClient WithHeaders(this ChatServiceFixture fixture, params (string Key, string Value)[] headers) =>
        new(fixture.Invoker.Intercept(metadata =>
        {
            foreach (var (key, value) in headers)
            {
                metadata.Add(key, value);
            }

            return metadata;
        }));

    /// <summary>A client that calls with <c>authorization: Bearer &lt;token&gt;</c>.</summary>
    public static ChatService.Api.V1.ChatService.ChatServiceClient WithToken(this ChatServiceFixture fixture, string token) =>
        fixture.WithHeaders(("authorization", $"Bearer {token}"));

    public static Task<Character> CreateCharacterAsync(this ChatService.Api.V1.ChatService.ChatServiceClient client, CancellationToken ct) =>
        client.CreateCharacterAsync(new CreateCharacterRequest { DisplayName = "Ada", Persona = "Ada explains with small examples." }, cancellationToken: ct).ResponseAsync;
}
