namespace ChatService.Api;

/// <summary>Wires and maps the public gRPC API and server reflection (health: see HealthChecks/).</summary>
public static class ApiExtensions
{
    public static IHostApplicationBuilder AddChatApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddGrpc(options =>
        {
            // Outermost first: the chat's log scope also covers the error mapper's logs.
            options.Interceptors.Add<ChatScopeInterceptor>();
            options.Interceptors.Add<ErrorMappingInterceptor>();
            // Largest legitimate request is a persona; anything far beyond is abuse.
            options.MaxReceiveMessageSize = 1024 * 1024;
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddSingleton<RequestValidator>();
        return builder;
    }

    public static WebApplication MapChatApi(this WebApplication app)
    {
        app.MapGrpcService<ChatApi>();
        app.MapGrpcReflectionService();
        return app;
    }
}
