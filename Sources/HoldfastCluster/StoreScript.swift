import COpenSSL

/// The Lua script that makes a message durable and live in one atomic step: `INCR` the room's sequence, `XADD`
/// the entry as `0-N`, `PUBLISH` the bus payload with N spliced in, return N. Redis runs one script at a time, so
/// the order of the publishes is the order of the ids for every subscriber of every node.
///
/// A sequence that is missing while the Stream or the nodes remember higher ids (a Redis restarted without its
/// data) starts above the Stream's last entry and above `floor`, the sender's last delivered id, so ids keep
/// increasing for the nodes that delivered the old ones.
///
/// KEYS: sequence, log, bus. ARGV: maxlen, floor, user, body, ts, client_id ("" = none), payload prefix, payload
/// suffix, kind (0 message, 1 edit, 2 delete), target (the message an edit or delete changes). An edit or a delete
/// gets the Stream fields `k` (kind) and `g` (target); a message does not carry them.
enum StoreScript {
    static let source = """
        if redis.call('EXISTS', KEYS[1]) == 0 then
          local floor = tonumber(ARGV[2]) or 0
          local top = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
          if #top > 0 then
            local last = tonumber(string.match(top[1][1], '%-(%d+)$')) or 0
            if last > floor then floor = last end
          end
          redis.call('SET', KEYS[1], string.format('%d', floor))
        end
        local id = redis.call('INCR', KEYS[1])
        local text = string.format('%d', id)
        if ARGV[9] == nil or ARGV[9] == '0' then
          redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '0-' .. text,
            'u', ARGV[3], 'b', ARGV[4], 't', ARGV[5], 'c', ARGV[6])
        else
          redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '0-' .. text,
            'u', ARGV[3], 'b', ARGV[4], 't', ARGV[5], 'c', ARGV[6], 'k', ARGV[9], 'g', ARGV[10])
        end
        redis.call('PUBLISH', KEYS[3], ARGV[7] .. text .. ARGV[8])
        return id
        """

    /// The SHA-1 `EVALSHA` names the script by (what `SCRIPT LOAD` answers).
    static let sha1: String = {
        let bytes = Array(source.utf8)
        var digest = [UInt8](repeating: 0, count: 20)
        bytes.withUnsafeBufferPointer { source in
            digest.withUnsafeMutableBufferPointer { target in
                _ = SHA1(source.baseAddress, source.count, target.baseAddress)
            }
        }
        let hex = Array("0123456789abcdef".utf8)
        return String(decoding: digest.flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 15)]] }, as: UTF8.self)
    }()
}
