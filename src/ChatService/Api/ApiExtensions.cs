using Microsoft.AspNetCore.Diagnostics.HealthChecks;

namespace ChatService.Api;

/// <summary>Wires and maps the public gRPC API, server reflection and health.</summary>
public static class ApiExtensions
{
    public static IHostApplicationBuilder AddChatApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddGrpc(options =>
        {
            options.Interceptors.Add<ErrorMappingInterceptor>();
            // Largest legitimate request is a persona; anything far beyond is abuse.
            options.MaxReceiveMessageSize = 1024 * 1024;
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddGrpcHealthChecks();
        builder.Services.AddSingleton<RequestValidator>();
        return builder;
    }

    public static WebApplication MapChatApi(this WebApplication app)
    {
        app.MapGrpcService<ChatApi>();
        app.MapGrpcReflectionService();
        app.MapGrpcHealthChecksService();
        app.MapHealthChecks("/healthz/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/healthz/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        return app;
    }
}
