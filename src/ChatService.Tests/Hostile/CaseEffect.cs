namespace ChatService.Tests.Hostile;

/// <summary>Whether a case may change stored data when the service accepts it.</summary>
internal enum CaseEffect
{
    /// <summary>Rejected, read-only or a repeat of an earlier request: nothing may be written.</summary>
    None,

    /// <summary>A legitimate write cut short (cancelled, a deadline of a few ms): may be recorded or not.</summary>
    MayWrite,
}
