using ChatService.Api;
using ChatService.Auth;
using ChatService.Cache;
using ChatService.Cards;
using ChatService.Chats;
using ChatService.Dispatch;
using ChatService.HealthChecks;
using ChatService.Inference;
using ChatService.Limits;
using ChatService.Memory;
using ChatService.Moderation;
using ChatService.Portability;
using ChatService.Privacy;
using ChatService.Resilience;
using ChatService.Storage;
using ChatService.Telemetry;

var builder = WebApplication.CreateBuilder(args);

builder.AddTelemetry();
builder.AddServiceHealth();
builder.AddServiceResilience();
builder.AddChatStorage();
builder.AddHistoryCache();
builder.AddChatDomain();
builder.AddCharacterCards();
builder.AddInference();
builder.AddModeration();
builder.AddReplyDispatch();
builder.AddChatMemory();
builder.AddChatPortability();
builder.AddDataDeletion();
builder.AddCallerAuthentication();
builder.AddUserLimits();
builder.AddChatApi();
builder.AddBrowserSupport();
builder.AddWebClient();

var app = builder.Build();

app.UseBrowserSupport();
app.UseWebClient();
app.UseCallerAuthentication();
app.MapTelemetry();
app.MapServiceHealth();
app.MapChatApi();

app.Run();

/// <summary>Entry point; public so integration tests can host the service in process.</summary>
public partial class Program;
