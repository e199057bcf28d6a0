using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ChatService.Moderation;

/// <summary>
/// An OpenAI-compatible moderation endpoint, over plain HTTP: <c>POST {BaseUrl}/moderations</c> with
/// <c>{"model": ..., "input": text}</c>, answered by <c>{"results": [{"flagged", "categories",
/// "category_scores"}]}</c> (OpenAI's documented shape, which self-hosted classifiers copy). A flagged
/// result's category is the flagged category with the highest score. Anything but a well-formed
/// answer (an HTTP error, a time-out, a body without results) is an outage, never a verdict.
/// </summary>
public sealed class OpenAIModerator : IModerator
{
    private readonly HttpClient _http;
    private readonly OpenAIModeratorOptions _options;
    private readonly Uri _endpoint;

    /// <param name="http">A client whose handler the caller owns (the HTTP client factory's, or a test's).</param>
    public OpenAIModerator(HttpClient http, OpenAIModeratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _options = options;
        _endpoint = new Uri(options.BaseUrl.TrimEnd('/') + "/moderations");
    }

    public string Name => $"openai:{_options.Model}";

    public async Task<ModerationVerdict> CheckAsync(string text, ModerationTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = JsonContent.Create(new ModerationRequest(_options.Model, text), ModerationJson.Default.ModerationRequest),
        };
        if (_options.ApiKey.Length > 0)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.ApiKey);
        }

        ModerationResponse? body;
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var status = (int)response.StatusCode;
            if (status is >= 400 and < 500 and not 408 and not 429)
            {
                // A bad key, model or URL, or an input the classifier will not take: retrying will not help.
                throw new ModerationUnavailableException($"the moderation endpoint refused the request with HTTP {status}: check Moderation:OpenAI (key, model, URL)",
                    misconfigured: true);
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new ModerationUnavailableException($"the moderation endpoint answered HTTP {(int)response.StatusCode}");
            }

            body = JsonSerializer.Deserialize(await ReadBoundedAsync(response.Content, cancellationToken), ModerationJson.Default.ModerationResponse);
        }
        catch (HttpRequestException ex)
        {
            throw new ModerationUnavailableException($"the moderation endpoint could not be reached: {ex.Message}", ex);
        }
        catch (JsonException ex)
        {
            throw new ModerationUnavailableException("the moderation endpoint answered malformed JSON", ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient's own time-out.
            throw new ModerationUnavailableException("the moderation endpoint did not answer in time", ex);
        }

        if (body?.Results is not [{ } result, ..])
        {
            throw new ModerationUnavailableException("the moderation endpoint answered without results");
        }

        if (!result.Flagged)
        {
            return ModerationVerdict.Clean;
        }

        // The flagged category that scored highest; a flagged result that names none is still flagged.
        var flaggedCategories = (result.Categories ?? []).Where(c => c.Value).Select(c => c.Key).ToList();
        var scores = result.CategoryScores ?? [];
        var category = flaggedCategories
            .OrderByDescending(c => scores.GetValueOrDefault(c))
            .ThenBy(c => c, StringComparer.Ordinal)
            .FirstOrDefault() ?? "unspecified";
        return ModerationVerdict.FlaggedAs(category);
    }

    /// <summary>The largest answer read: a verdict is a few hundred bytes; anything far larger is not one (and must not be buffered whole).</summary>
    internal const int MaxResponseBytes = 1 << 20;

    /// <summary>The response body, read (headers were read alone) up to <see cref="MaxResponseBytes"/>; longer is an outage.</summary>
    private static async Task<byte[]> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength > MaxResponseBytes)
        {
            throw new ModerationUnavailableException($"the moderation endpoint's answer is over {MaxResponseBytes} bytes");
        }

        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxResponseBytes)
            {
                throw new ModerationUnavailableException($"the moderation endpoint's answer is over {MaxResponseBytes} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    internal sealed record ModerationRequest(
        [property: JsonPropertyName("model")] string Model,
        [property: JsonPropertyName("input")] string Input);

    internal sealed record ModerationResponse(
        [property: JsonPropertyName("results")] List<ModerationResult>? Results);

    internal sealed record ModerationResult(
        [property: JsonPropertyName("flagged")] bool Flagged,
        [property: JsonPropertyName("categories")] Dictionary<string, bool>? Categories,
        [property: JsonPropertyName("category_scores")] Dictionary<string, double>? CategoryScores);
}

[JsonSerializable(typeof(OpenAIModerator.ModerationRequest))]
[JsonSerializable(typeof(OpenAIModerator.ModerationResponse))]
internal sealed partial class ModerationJson : JsonSerializerContext;
