import CHiredis

extension RedisReply {
    /// Copies a hiredis reply (valid only during its callback) into a Swift value.
    init(_ reply: UnsafePointer<redisReply>) {
        let raw = reply.pointee
        switch raw.type {
        case REDIS_REPLY_STATUS: self = .status(Self.text(raw))
        case REDIS_REPLY_ERROR: self = .error(Self.text(raw))
        case REDIS_REPLY_INTEGER: self = .integer(Int64(raw.integer))
        case REDIS_REPLY_STRING: self = .bulk(Self.bytes(raw))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(raw.elements)
            for index in 0..<raw.elements {
                if let element = raw.element?[index] {
                    elements.append(RedisReply(element))
                } else {
                    elements.append(.null)
                }
            }
            self = .array(elements)
        default: self = .null  // REDIS_REPLY_NIL: RESP2 has no other kinds
        }
    }

    private static func bytes(_ raw: redisReply) -> [UInt8] {
        guard let pointer = raw.str, raw.len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: raw.len))
    }

    private static func text(_ raw: redisReply) -> String {
        String(decoding: bytes(raw), as: UTF8.self)
    }
}
