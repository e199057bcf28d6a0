using ChatService.Api;
using ChatService.Cache;
using ChatService.Chats;
using ChatService.Dispatch;
using ChatService.Inference;
using ChatService.Storage;

var builder = WebApplication.CreateBuilder(args);

builder.AddChatStorage();
builder.AddHistoryCache();
builder.AddChatDomain();
builder.AddInference();
builder.AddReplyDispatch();
builder.AddChatApi();
builder.AddBrowserSupport();

var app = builder.Build();

app.UseBrowserSupport();
app.MapChatApi();

app.Run();

/// <summary>Entry point; public so integration tests can host the service in process.</summary>
public partial class Program;
