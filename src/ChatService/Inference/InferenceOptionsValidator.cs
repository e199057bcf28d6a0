using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace ChatService.Inference;

/// <summary>
/// Checks what data annotations cannot: each backend's own settings, that OpenAI backends say
/// where to connect, and that every route names backends that exist.
/// </summary>
internal sealed class InferenceOptionsValidator : IValidateOptions<InferenceOptions>
{
    public ValidateOptionsResult Validate(string? name, InferenceOptions options)
    {
        var errors = new List<string>();
        if (options.Backends.Count == 0)
        {
            errors.Add("Inference:Backends is empty.");
        }

        foreach (var (backendName, backend) in options.Backends)
        {
            ValidateBackend($"Inference:Backends:{backendName}", backend, errors);
        }

        if (options.Routes.Count == 0)
        {
            errors.Add("Inference:Routes is empty; name at least one route and its backends.");
        }

        foreach (var (routeName, backends) in options.Routes)
        {
            if (backends is null || backends.Count == 0)
            {
                errors.Add($"Inference:Routes:{routeName} names no backend.");
                continue;
            }

            foreach (var backendName in backends.Where(b => !options.Backends.ContainsKey(b)))
            {
                errors.Add($"Inference:Routes:{routeName} names backend '{backendName}', which is not configured.");
            }
        }

        foreach (var routeName in options.RouteBudgets.Keys.Where(r => !options.Routes.ContainsKey(r)))
        {
            errors.Add($"Inference:RouteBudgets:{routeName} is the budget of a route that is not configured.");
        }

        foreach (var routeName in options.Routes.Keys.Concat(options.RouteBudgets.Keys).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            var (context, reserve) = options.BudgetOf(routeName);
            var path = options.RouteBudgets.ContainsKey(routeName) ? $"Inference:RouteBudgets:{routeName}" : "Inference";
            if (context < RouteBudgetOptions.MinimumContextTokens || reserve < 1 || context - reserve < RouteBudgetOptions.MinimumPromptTokens)
            {
                errors.Add($"{path}: ContextTokens ({context}) minus ReplyReserveTokens ({reserve}) must leave at least {RouteBudgetOptions.MinimumPromptTokens} tokens for the prompt, and ReplyReserveTokens must be positive.");
            }
        }

        if (options.RetryDelay < TimeSpan.Zero)
        {
            errors.Add("Inference:RetryDelay must not be negative.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateBackend(string path, BackendOptions backend, List<string> errors)
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(backend, new ValidationContext(backend), results, validateAllProperties: true))
        {
            errors.AddRange(results.Select(r => $"{path}: {r.ErrorMessage}"));
        }

        if (backend.FirstTokenTimeout <= TimeSpan.Zero || backend.TotalTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{path}: FirstTokenTimeout and TotalTimeout must be positive.");
        }

        if (backend.QueueTimeout < TimeSpan.Zero)
        {
            errors.Add($"{path}:QueueTimeout must not be negative.");
        }

        if (!PromptTokenizer.IsKnown(backend.Tokenizer))
        {
            errors.Add($"{path}:Tokenizer '{backend.Tokenizer}' is not one of {string.Join(", ", PromptTokenizer.Names)}.");
        }

        switch (backend.Kind)
        {
            case BackendKind.OpenAI:
                if (!Uri.TryCreate(backend.BaseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                {
                    errors.Add($"{path}:BaseUrl must be an absolute http(s) address for an OpenAI backend, e.g. http://localhost:8000/v1.");
                }

                if (string.IsNullOrWhiteSpace(backend.Model))
                {
                    errors.Add($"{path}:Model is required for an OpenAI backend.");
                }

                break;
            case BackendKind.Simulated:
                if (backend.MinTokens > backend.MaxTokens)
                {
                    errors.Add($"{path}: MinTokens must not exceed MaxTokens.");
                }

                if (backend.TimeToFirstToken < TimeSpan.Zero)
                {
                    errors.Add($"{path}:TimeToFirstToken must not be negative.");
                }

                break;
            default:
                errors.Add($"{path}:Kind '{backend.Kind}' is not supported.");
                break;
        }
    }
}
