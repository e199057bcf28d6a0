namespace ChatService.Telemetry;

/// <summary>
/// Records a measurement so that it never throws: a meter listener that throws (they run inside
/// <c>Add</c>/<c>Record</c>) must not fail a reply, a check or a call; a lost data point is the lesser harm.
/// </summary>
internal static class SafeRecording
{
    public static void Safely(Action record)
    {
        try
        {
            record();
        }
        catch (Exception)
        {
            // The data point is lost; whatever was being measured goes on.
        }
    }
}
