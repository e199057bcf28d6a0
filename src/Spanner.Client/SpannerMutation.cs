using Google.Protobuf.WellKnownTypes;
using Spanner.Client.Internal;

namespace Spanner.Client;

/// <summary>
/// A row write or delete, applied atomically when its transaction commits. Build writes fluently:
/// <c>SpannerMutation.Insert("Chats").Set("ChatId", id).Set("CreatedAt", SpannerCommitTimestamp.Value)</c>.
/// </summary>
public sealed class SpannerMutation
{
    private readonly Kind _kind;
    private readonly string _table;
    private readonly List<string> _columns = [];
    private readonly List<Value> _values = [];
    private readonly V1.KeySet? _keySet;

    private SpannerMutation(Kind kind, string table, V1.KeySet? keySet = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(table);
        _kind = kind;
        _table = table;
        _keySet = keySet;
    }

    private enum Kind
    {
        Insert,
        Update,
        InsertOrUpdate,
        Replace,
        Delete,
    }

    /// <summary>Inserts a row; the commit fails with ALREADY_EXISTS if it exists.</summary>
    public static SpannerMutation Insert(string table) => new(Kind.Insert, table);

    /// <summary>Updates the given columns of an existing row; the commit fails with NOT_FOUND if it does not exist.</summary>
    public static SpannerMutation Update(string table) => new(Kind.Update, table);

    /// <summary>Inserts the row, or updates the given columns if it exists (other columns keep their values).</summary>
    public static SpannerMutation InsertOrUpdate(string table) => new(Kind.InsertOrUpdate, table);

    /// <summary>Inserts the row, or replaces it if it exists (columns not given become NULL).</summary>
    public static SpannerMutation Replace(string table) => new(Kind.Replace, table);

    /// <summary>Deletes the rows with the given primary keys (missing rows are fine).</summary>
    public static SpannerMutation Delete(string table, params SpannerKey[] keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var keySet = new V1.KeySet();
        keySet.Keys.AddRange(keys.Select(k => k.ToProto()));
        return new(Kind.Delete, table, keySet);
    }

    /// <summary>Deletes every row whose primary key starts with <paramref name="prefix"/>.</summary>
    public static SpannerMutation DeleteRange(string table, SpannerKey prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var keySet = new V1.KeySet();
        keySet.Ranges.Add(new V1.KeyRange { StartClosed = prefix.ToProto(), EndClosed = prefix.ToProto() });
        return new(Kind.Delete, table, keySet);
    }

    /// <summary>
    /// Sets a column of a write. The value is encoded from its CLR type (see <see cref="SpannerStatement.Add(string, object?)"/>);
    /// null writes NULL and <see cref="SpannerCommitTimestamp.Value"/> writes the commit timestamp.
    /// </summary>
    /// <exception cref="InvalidOperationException">This is a delete mutation.</exception>
    public SpannerMutation Set(string column, object? value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(column);
        if (_kind == Kind.Delete)
        {
            throw new InvalidOperationException("A delete mutation has no columns to set.");
        }

        _columns.Add(column);
        _values.Add(ValueCodec.EncodeInferred(value));
        return this;
    }

    internal V1.Mutation ToProto()
    {
        if (_kind == Kind.Delete)
        {
            return new V1.Mutation { Delete = new V1.Mutation.Types.Delete { Table = _table, KeySet = _keySet!.Clone() } };
        }

        var write = new V1.Mutation.Types.Write { Table = _table };
        write.Columns.AddRange(_columns);
        var row = new ListValue();
        row.Values.AddRange(_values.Select(v => v.Clone()));
        write.Values.Add(row);
        return _kind switch
        {
            Kind.Insert => new V1.Mutation { Insert = write },
            Kind.Update => new V1.Mutation { Update = write },
            Kind.InsertOrUpdate => new V1.Mutation { InsertOrUpdate = write },
            _ => new V1.Mutation { Replace = write },
        };
    }

    /// <inheritdoc/>
    public override string ToString() => $"{_kind} {_table}";
}
