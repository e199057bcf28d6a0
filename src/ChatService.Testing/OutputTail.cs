using System.Diagnostics;

namespace ChatService.Testing;

/// <summary>
/// The last lines a child process printed (stdout and stderr interleaved), for the message when it
/// fails. Only the tail: a service under load prints far more than a failure message can carry.
/// </summary>
internal sealed class OutputTail
{
    private readonly Queue<string> _lines = new();
    private readonly int _capacity;
    private readonly Action<string>? _onLine;

    private OutputTail(int capacity, Action<string>? onLine)
    {
        _capacity = capacity;
        _onLine = onLine;
    }

    public string Text
    {
        get
        {
            lock (_lines)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    /// <summary>
    /// Reads both pipes of a started process from now on. Reading them at all matters too: a
    /// chatty child that fills a pipe nobody drains blocks on its next write.
    /// </summary>
    public static OutputTail Follow(Process process, int capacity, Action<string>? onLine = null)
    {
        var tail = new OutputTail(capacity, onLine);
        process.OutputDataReceived += (_, e) => tail.Add(e.Data);
        process.ErrorDataReceived += (_, e) => tail.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return tail;
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        _onLine?.Invoke(line);
        lock (_lines)
        {
            _lines.Enqueue(line);
            if (_lines.Count > _capacity)
            {
                _lines.Dequeue();
            }
        }
    }
}
