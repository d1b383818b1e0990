/// The Lua scripts of the registry and of presence. Redis runs a script atomically, and `TIME` inside a script
/// gives every node one clock (Redis 7 replicates scripts by effects, so writes after `TIME` are allowed).
///
/// The reap and rewrite scripts publish presence messages built by concatenating stored values, in the shape
/// ``ClusterPresenceMessage`` decodes. `HDEL`/`HSET` go in chunks of 500 so that `unpack` stays far below Lua's
/// stack limit in rooms of thousands.
public enum ClusterScripts {
    /// KEYS: `hf:node:{name}`, `hf:nodes`. ARGV: token, `node_timeout_ms`, name, announce (`1`/`0`), grace
    /// (milliseconds, `0` but during a binary upgrade: the beat counts as that much later, and the key lives that
    /// much longer, so the node stays live until its new process beats). Returns `{0, holder}` (another token holds the name: nothing written), `{1, now}` (renewed) or
    /// `{2, now}` (our token was gone and is set again). On a restore the node also leaves `hf:nodes` until it
    /// announces itself again: nobody reaps a node while it rewrites, and readers do not take its fields, still
    /// being rewritten, for its whole truth.
    public static let heartbeat = RedisScript(
        """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local current = redis.call('GET', KEYS[1])
        if current and current ~= ARGV[1] then return {0, current} end
        local grace = tonumber(ARGV[5] or '0')
        redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]) + grace)
        if not current then
          redis.call('ZREM', KEYS[2], ARGV[3])
          return {2, now}
        end
        if ARGV[4] == '1' then redis.call('ZADD', KEYS[2], now + grace, ARGV[3]) end
        return {1, now}
        """)

    /// KEYS: `hf:nodes`. Returns `{now, name, score, name, score, ...}`.
    public static let survey = RedisScript(
        """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
        table.insert(all, 1, tostring(now))
        return all
        """)

    /// ARGV: key prefix, node name, dead-after milliseconds (`-1`: do not check), a token to spare (`hf:node:{name}`
    /// is deleted unless it holds this token; empty: always). Keys are derived from the prefix as
    /// ``ClusterKeys`` does. For each room in `hf:node:{name}:rooms`: deletes the node's fields and publishes one
    /// presence message with all of them as leaves on `hf:{room}:bus`. Then drops the node's keys. Returns the
    /// number of rooms published to, or -1 when the node beat again since it was found dead, or left `hf:nodes`
    /// (reaped already, or rewriting its entries after a restore): nothing done then.
    public static let reap = RedisScript(
        """
        local prefix, name = ARGV[1], ARGV[2]
        local deadAfter = tonumber(ARGV[3])
        local nodesKey = prefix .. 'nodes'
        local nodeKey = prefix .. 'node:' .. name
        if deadAfter >= 0 then
          local t = redis.call('TIME')
          local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
          local score = redis.call('ZSCORE', nodesKey, name)
          if not score or tonumber(score) >= now - deadAfter then return -1 end
        end
        local roomsKey = nodeKey .. ':rooms'
        local owned = name .. '|'
        local head = '{"kind":"presence","node":' .. cjson.encode(name) .. ',"joins":[],"leaves":['
        local published = 0
        for _, room in ipairs(redis.call('SMEMBERS', roomsKey)) do
          local hash = prefix .. '{' .. room .. '}:presence'
          local all = redis.call('HGETALL', hash)
          local fields, leaves = {}, {}
          for i = 1, #all, 2 do
            if string.sub(all[i], 1, #owned) == owned then
              fields[#fields + 1] = all[i]
              leaves[#leaves + 1] = all[i + 1]
            end
          end
          for i = 1, #fields, 500 do
            redis.call('HDEL', hash, unpack(fields, i, math.min(i + 499, #fields)))
          end
          if #leaves > 0 then
            redis.call('PUBLISH', prefix .. '{' .. room .. '}:bus', head .. table.concat(leaves, ',') .. ']}')
            published = published + 1
          end
        end
        redis.call('DEL', roomsKey)
        if redis.call('GET', nodeKey) ~= ARGV[4] then redis.call('DEL', nodeKey) end
        redis.call('ZREM', nodesKey, name)
        return published
        """)

    /// KEYS: the room's hash, the node's rooms set, `hf:nodes`. ARGV: bus channel, node name, room, then field and
    /// stored value of each of the node's entries. Makes the node's fields exactly these, keeps the rooms set
    /// right, publishes them as one `replace` presence message, and returns `{hash as HGETALL, ZRANGE of hf:nodes}`.
    public static let rewrite = RedisScript(
        """
        local owned = ARGV[2] .. '|'
        local wanted = {}
        for i = 4, #ARGV, 2 do wanted[ARGV[i]] = true end
        local all = redis.call('HGETALL', KEYS[1])
        local stale = {}
        for i = 1, #all, 2 do
          if string.sub(all[i], 1, #owned) == owned and not wanted[all[i]] then stale[#stale + 1] = all[i] end
        end
        for i = 1, #stale, 500 do
          redis.call('HDEL', KEYS[1], unpack(stale, i, math.min(i + 499, #stale)))
        end
        local joins = {}
        for i = 4, #ARGV, 1000 do
          redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
        end
        for i = 5, #ARGV, 2 do joins[#joins + 1] = ARGV[i] end
        if #joins > 0 then
          redis.call('SADD', KEYS[2], ARGV[3])
        else
          redis.call('SREM', KEYS[2], ARGV[3])
        end
        redis.call('PUBLISH', ARGV[1], '{"kind":"presence","node":' .. cjson.encode(ARGV[2])
          .. ',"replace":true,"joins":[' .. table.concat(joins, ',') .. '],"leaves":[]}')
        return {redis.call('HGETALL', KEYS[1]), redis.call('ZRANGE', KEYS[3], 0, -1)}
        """)
}
