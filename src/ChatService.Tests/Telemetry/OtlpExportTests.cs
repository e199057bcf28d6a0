using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Telemetry;

/// <summary>OTLP export is switched on by configuration alone.</summary>
public sealed class OtlpExportTests(OtlpFixture fixture) : ApiTestBase(fixture), IClassFixture<OtlpFixture>
{
    [Fact]
    public async Task OtlpEndpointConfigured_ExportsTracesMetricsAndLogs()
    {
        var collector = ((OtlpFixture)Fixture).Collector;
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));

        await SendAsync(user, chat.ChatId, "Hello.");

        var deadline = DateTime.UtcNow.AddSeconds(10);
        string[] signals = ["/v1/traces", "/v1/metrics", "/v1/logs"];
        while (signals.Any(path => !collector.Exports.Any(e => e.Path == path && e.Bytes > 0)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, Ct);
        }

        foreach (var path in signals)
        {
            Assert.Contains(collector.Exports, e => e.Path == path && e.Bytes > 0 && e.ContentType == "application/x-protobuf");
        }
    }
}
