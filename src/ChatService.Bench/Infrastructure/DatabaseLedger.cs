namespace ChatService.Bench.Infrastructure;

/// <summary>
/// The databases this machine's bench runs created and have not dropped yet, in a file under the temp
/// directory, so a run that was killed does not leave them behind for good: the emulator allows only
/// 100 databases per instance. The next run drops what is listed.
/// </summary>
internal static class DatabaseLedger
{
    private static readonly string FilePath = Path.Combine(Path.GetTempPath(), "chatbench-databases.txt");
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static bool _sweptLeftovers;

    public static async Task AddAsync(string databaseId)
    {
        await Gate.WaitAsync();
        try
        {
            if (!_sweptLeftovers)
            {
                _sweptLeftovers = true;
                foreach (var leftover in await ReadAsync())
                {
                    await BenchDatabase.DropAsync(leftover);
                }

                await File.WriteAllLinesAsync(FilePath, []);
            }

            await File.AppendAllLinesAsync(FilePath, [databaseId]);
        }
        finally
        {
            Gate.Release();
        }
    }

    public static async Task RemoveAsync(string databaseId)
    {
        await Gate.WaitAsync();
        try
        {
            await File.WriteAllLinesAsync(FilePath, (await ReadAsync()).Where(id => id != databaseId));
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task<IReadOnlyList<string>> ReadAsync() =>
        File.Exists(FilePath) ? [.. (await File.ReadAllLinesAsync(FilePath)).Where(l => l.Length > 0)] : [];
}
