namespace ChatService.Tests.Infrastructure;

internal static class TestUsers
{
    /// <summary>A user id no other test uses, so tests sharing a database never see each other's data.</summary>
    public static string New() => "user-" + Guid.NewGuid().ToString("N")[..10];
}
