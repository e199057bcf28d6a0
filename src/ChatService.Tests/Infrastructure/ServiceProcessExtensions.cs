using ChatService.Testing;

namespace ChatService.Tests.Infrastructure;

/// <summary>
/// The tests' way of running <see cref="ServiceProcess"/>: as Development, with the same generous
/// per-user limits as the in-process fixtures, and a typed client per user.
/// </summary>
public static class ServiceProcessExtensions
{
    extension(ServiceProcess)
    {
        /// <summary>Starts the service with <paramref name="settings"/> over <see cref="ChatServiceFixture.GenerousLimits"/> and waits until it reports ready.</summary>
        public static Task<ServiceProcess> StartAsync(IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken)
        {
            var all = new Dictionary<string, string>(ChatServiceFixture.GenerousLimits);
            foreach (var (key, value) in settings)
            {
                all[key] = value;
            }

            return ServiceProcess.StartAsync(new ServiceProcessOptions { EnvironmentName = "Development", Settings = all }, cancellationToken);
        }
    }

    extension(ServiceProcess service)
    {
        /// <summary>A client that calls as <paramref name="userId"/> (the x-user-id header).</summary>
        public ChatService.Api.V1.ChatService.ChatServiceClient Client(string userId) => new(service.InvokerFor(userId));
    }
}
