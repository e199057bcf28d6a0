namespace ChatService.Cache;

internal sealed partial class HistoryCache
{
    // A chat's window is one hash under the chat's hash tag: "meta" (owner and cast), "lo"/"hi"
    // (the contiguous seq range held), per turn "t:<seq>" (the public Turn message's bytes) and
    // "v:<seq>" (version), "node" (the primary that wrote it, and in which of its terms as primary:
    // "<node id>:<replication id>"), and "head": the newest turns again, newest first, framed as
    // GetHistoryResponse.turns (tag 0x0A, varint length, Turn), so a first history page is a prefix
    // of it; "full" is "1" when the head holds every turn the chat shows. "head" and "full" are
    // rebuilt by every script that changes turns. A hidden turn (rewound or deleted) is an empty
    // "t:<seq>" (a Turn's bytes never are): it keeps the range contiguous and is never shown. Its
    // fill key, under the same tag, holds the token of a load in flight.
    //
    // Failover: a primary acknowledges a write before its replica has it, so a replica promoted
    // after a crash may hold a window without the last updates. The script that loads a window
    // stamps it with this primary's term, and every script that reads or changes one first checks
    // the stamp: a window written in any other term is dropped (a miss, reloaded from Spanner).
    // The node id alone is not enough: the node that wrote the window can come back as the new
    // primary's replica, copy the window that missed its update (stamped with its own id), and be
    // made primary again. The replication ID tells the terms apart: a replica that is promoted
    // takes a new random one and keeps it while it stays primary. (A primary restarted from a
    // snapshot may keep its own: this cache is meant to run without persistence.)
    //
    // Writers that die: a writer announces a change before committing it, as a member of the
    // chat's "pending" sorted set scored with a deadline (server time + Redis:ChangeDeadline), and
    // its apply removes it. An announcement still there past its deadline means a change that
    // committed (or may have) without reaching the window: the same check drops the window.
    //
    // Every change also publishes on the chat's sharded channel ("…:w:changed", same slot), which
    // the replicas' near caches listen to.

    /// <summary>
    /// Lua: stamp() is this primary's term (see failover above); trusted(key, fill, pending,
    /// channel) is false (and the window dropped) when the window was written in another term or a
    /// change announced for it is overdue; rebuild_head(key, lo, hi, n) writes the newest n shown
    /// turns of lo..hi as "head" (skipping hidden ones) and whether that is all of the chat's as "full".
    /// </summary>
    private const string WindowFunctions =
        """
        local function varint(n)
          local out = ''
          while n >= 128 do
            out = out .. string.char(n % 128 + 128)
            n = math.floor(n / 128)
          end
          return out .. string.char(n)
        end

        local function stamp()
          local info = redis.call('INFO', 'replication')
          local replid = string.match(info, 'master_replid:(%x+)')
          if not replid then return redis.error_reply('no master_replid in INFO replication') end
          return redis.call('CLUSTER', 'MYID') .. ':' .. replid
        end

        local function now_ms()
          local t = redis.call('TIME')
          return t[1] * 1000 + math.floor(t[2] / 1000)
        end

        local function trusted(key, fill, pending, channel)
          if redis.call('HGET', key, 'node') == stamp() then
            local now = now_ms()
            if #redis.call('ZRANGEBYSCORE', pending, '-inf', now, 'LIMIT', 0, 1) == 0 then return true end
            redis.call('ZREMRANGEBYSCORE', pending, '-inf', now)
          end
          redis.call('DEL', key, fill)
          redis.call('SPUBLISH', channel, 'dropped')
          return false
        end

        local function rebuild_head(key, lo, hi, n)
          local parts = {}
          local s = hi
          while s >= lo and #parts < n do
            local fields = {}
            while s >= lo and #fields < n - #parts do
              fields[#fields + 1] = 't:' .. s
              s = s - 1
            end
            local values = redis.call('HMGET', key, unpack(fields))
            for i = 1, #values do
              -- A hole: leave no head, so readers take the script path, which refuses holes.
              if not values[i] then
                redis.call('HDEL', key, 'head', 'full')
                return
              end
              if values[i] ~= '' then
                parts[#parts + 1] = '\10' .. varint(#values[i]) .. values[i]
              end
            end
          end
          local full = '0'
          if s < lo and lo <= 1 then full = '1' end
          redis.call('HSET', key, 'head', table.concat(parts), 'full', full)
        end

        """;

    /// <summary>
    /// KEYS: window, fill, pending. ARGV: channel. Returns nil (miss), {"deleted"}, {"no-head"} (a hole was
    /// found when the head was last built: read the window), or {meta, hi, head, full}.
    /// </summary>
    private const string ReadHeadScript = WindowFunctions +
        """
        local v = redis.call('HMGET', KEYS[1], 'deleted', 'meta', 'hi', 'head', 'full')
        if v[1] then return {'deleted'} end
        if not v[2] or not trusted(KEYS[1], KEYS[2], KEYS[3], ARGV[1]) then return false end
        if not v[4] or not v[5] then return {'no-head'} end
        return {v[2], v[3], v[4], v[5]}
        """;

    /// <summary>KEYS: window, fill, pending. ARGV: max turns, channel. Returns nil (miss), {"deleted"}, or {meta, lo, hi, newest turn, …}.</summary>
    private const string ReadScript = WindowFunctions +
        """
        if redis.call('EXISTS', KEYS[1]) == 0 then return false end
        if redis.call('HEXISTS', KEYS[1], 'deleted') == 1 then return {'deleted'} end
        if not trusted(KEYS[1], KEYS[2], KEYS[3], ARGV[2]) then return false end
        local lo = tonumber(redis.call('HGET', KEYS[1], 'lo'))
        local hi = tonumber(redis.call('HGET', KEYS[1], 'hi'))
        local fields = {'meta'}
        local s = hi
        while s >= lo and #fields <= tonumber(ARGV[1]) do
          fields[#fields + 1] = 't:' .. s
          s = s - 1
        end
        local values = redis.call('HMGET', KEYS[1], unpack(fields))
        local out = {values[1], tostring(lo), tostring(hi)}
        for i = 2, #values do out[#out + 1] = values[i] end
        return out
        """;

    /// <summary>
    /// KEYS: window, fill. ARGV: token, ttl ms, meta, lo, hi, head turns, then (seq, version, turn) triples.
    /// Stores the window only if this load's token still holds the fill key (no write raced it)
    /// and nothing is cached yet. Returns 1 when stored.
    /// </summary>
    private const string PopulateScript = WindowFunctions +
        """
        if redis.call('GET', KEYS[2]) ~= ARGV[1] .. '|' .. stamp() then return 0 end
        redis.call('DEL', KEYS[2])
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        redis.call('HSET', KEYS[1], 'meta', ARGV[3], 'lo', ARGV[4], 'hi', ARGV[5], 'node', stamp())
        for i = 7, #ARGV, 3 do
          redis.call('HSET', KEYS[1], 't:' .. ARGV[i], ARGV[i + 2], 'v:' .. ARGV[i], ARGV[i + 1])
        end
        rebuild_head(KEYS[1], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]))
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1
        """;

    /// <summary>
    /// KEYS: window, fill, pending. ARGV: window size, head turns, channel, announcement (or ""),
    /// then (seq, version, turn) triples in seq order. Ends the change's announcement first.
    /// The window keeps the expiry it was loaded with: updates never extend it, so anything a
    /// window might have missed (an update lost in a failover) is gone within one TTL.
    /// Applies committed turn changes to a cached window, each only if its version is newer than
    /// the cached one; appends extend the window and drop the oldest beyond its size. A gap (an
    /// append past hi + 1, whose predecessor's update has not arrived) drops the window rather
    /// than leave a hole. With no window cached, it only cancels a load in flight (whose snapshot
    /// may predate this change). Every outcome is published. Returns 1 applied, 0 no window,
    /// -1 tombstone, -2 dropped.
    /// </summary>
    private const string ApplyScript = WindowFunctions +
        """
        if ARGV[4] ~= '' then redis.call('ZREM', KEYS[3], ARGV[4]) end
        redis.call('SPUBLISH', ARGV[3], 'changed')
        if redis.call('EXISTS', KEYS[1]) == 0 then
          redis.call('DEL', KEYS[2])
          return 0
        end
        if redis.call('HEXISTS', KEYS[1], 'deleted') == 1 then return -1 end
        if not trusted(KEYS[1], KEYS[2], KEYS[3], ARGV[3]) then return -2 end
        local lo = tonumber(redis.call('HGET', KEYS[1], 'lo'))
        local hi = tonumber(redis.call('HGET', KEYS[1], 'hi'))
        for i = 5, #ARGV, 3 do
          local seq = tonumber(ARGV[i])
          local version = tonumber(ARGV[i + 1])
          if seq > hi + 1 then
            redis.call('DEL', KEYS[1], KEYS[2])
            return -2
          end
          if seq >= lo then
            local current = tonumber(redis.call('HGET', KEYS[1], 'v:' .. seq) or '-1')
            if version > current then
              redis.call('HSET', KEYS[1], 't:' .. seq, ARGV[i + 2], 'v:' .. seq, ARGV[i + 1])
            end
            if seq > hi then hi = seq end
          end
        end
        while hi - lo + 1 > tonumber(ARGV[1]) do
          redis.call('HDEL', KEYS[1], 't:' .. lo, 'v:' .. lo)
          lo = lo + 1
        end
        redis.call('HSET', KEYS[1], 'lo', lo, 'hi', hi)
        rebuild_head(KEYS[1], lo, hi, tonumber(ARGV[2]))
        return 1
        """;

    /// <summary>
    /// KEYS: window, fill, pending. ARGV: channel, announcement (or ""), the meta the writer read, the meta
    /// with the new summary. Ends the announcement, then replaces the window's meta only if it is still the
    /// one read (compare and set: any other change of it meanwhile drops the window instead). With no window
    /// cached, it only cancels a load in flight, as an apply does. Returns 1 applied, 0 no window, -1
    /// tombstone, -2 dropped (untrusted), -3 dropped (the meta changed).
    /// </summary>
    private const string SummaryScript = WindowFunctions +
        """
        if ARGV[2] ~= '' then redis.call('ZREM', KEYS[3], ARGV[2]) end
        redis.call('SPUBLISH', ARGV[1], 'changed')
        if redis.call('EXISTS', KEYS[1]) == 0 then
          redis.call('DEL', KEYS[2])
          return 0
        end
        if redis.call('HEXISTS', KEYS[1], 'deleted') == 1 then return -1 end
        if not trusted(KEYS[1], KEYS[2], KEYS[3], ARGV[1]) then return -2 end
        if redis.call('HGET', KEYS[1], 'meta') ~= ARGV[3] then
          redis.call('DEL', KEYS[1], KEYS[2])
          redis.call('SPUBLISH', ARGV[1], 'dropped')
          return -3
        end
        redis.call('HSET', KEYS[1], 'meta', ARGV[4])
        return 1
        """;

    /// <summary>KEYS: window, fill, pending. ARGV: ttl ms, channel. Replaces the window with a tombstone.</summary>
    private const string TombstoneScript =
        """
        redis.call('SPUBLISH', ARGV[2], 'deleted')
        redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
        redis.call('HSET', KEYS[1], 'deleted', '1')
        redis.call('PEXPIRE', KEYS[1], ARGV[1])
        return 1
        """;

    /// <summary>
    /// KEYS: pending. ARGV: announcement, deadline ms, expiry ms. Announces a change about to be
    /// committed; the set lives as long as any window could.
    /// </summary>
    private const string IntendScript =
        """
        local t = redis.call('TIME')
        redis.call('ZADD', KEYS[1], t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[2]), ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return 1
        """;

    /// <summary>
    /// KEYS: fill. ARGV: token, ttl ms. Claims the right to fill the window, in this primary's term:
    /// a claim replicated before a failover cannot fill the promoted node's window (an apply that
    /// cancelled it may have been lost). Returns 1 when claimed.
    /// </summary>
    private const string FillScript = WindowFunctions +
        """
        if redis.call('SET', KEYS[1], ARGV[1] .. '|' .. stamp(), 'NX', 'PX', ARGV[2]) then return 1 end
        return 0
        """;

    /// <summary>KEYS: window, fill. ARGV: channel. Drops the window (it may have missed a change).</summary>
    private const string DropScript =
        """
        redis.call('DEL', KEYS[1], KEYS[2])
        redis.call('SPUBLISH', ARGV[1], 'dropped')
        return 1
        """;
}
