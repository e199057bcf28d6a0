using Microsoft.Extensions.Options;

namespace ChatService.Moderation;

/// <summary>Checks what data annotations cannot: the chosen moderator's own settings and the time-out.</summary>
internal sealed class ModerationOptionsValidator : IValidateOptions<ModerationOptions>
{
    public ValidateOptionsResult Validate(string? name, ModerationOptions options)
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(options.Moderator))
        {
            errors.Add("Moderation:Moderator must be None, Simulated or OpenAI.");
        }

        if (!Enum.IsDefined(options.UserMessages))
        {
            errors.Add("Moderation:UserMessages must be Off or Refuse.");
        }

        if (!Enum.IsDefined(options.OnOutage))
        {
            errors.Add("Moderation:OnOutage must be FailOpen or FailClosed.");
        }

        if (options.Timeout <= TimeSpan.Zero || options.Timeout > TimeSpan.FromMinutes(1))
        {
            errors.Add("Moderation:Timeout must be more than 0 and at most 1 minute.");
        }

        if (options.Moderator == ModeratorKind.OpenAI)
        {
            if (!Uri.TryCreate(options.OpenAI.BaseUrl, UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("http" or "https"))
            {
                errors.Add("Moderation:OpenAI:BaseUrl must be an absolute http or https URL (e.g. https://api.openai.com/v1).");
            }

            if (string.IsNullOrWhiteSpace(options.OpenAI.Model))
            {
                errors.Add("Moderation:OpenAI:Model must not be empty.");
            }
        }

        if (options.Moderator == ModeratorKind.Simulated)
        {
            foreach (var (category, terms) in options.Simulated.FlaggedTerms)
            {
                if (string.IsNullOrWhiteSpace(category) || terms is null || terms.Count == 0 || terms.Any(string.IsNullOrWhiteSpace))
                {
                    errors.Add($"Moderation:Simulated:FlaggedTerms:{category} must name a category and at least one non-blank term.");
                }
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
