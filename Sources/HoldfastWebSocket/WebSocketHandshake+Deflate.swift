extension WebSocketHandshake {
    /// Parses one `Sec-WebSocket-Extensions` element and returns the parameters to agree on, or nil when the
    /// element is not permessage-deflate or is unacceptable (unknown or duplicate parameter, bad value, or a
    /// limit the server cannot honour).
    static func negotiateDeflate(
        offer: Substring,
        configuration: PerMessageDeflateConfiguration
    ) -> PerMessageDeflateParameters? {
        var parts = offer.split(separator: ";", omittingEmptySubsequences: false).makeIterator()
        guard let name = parts.next(), name.trimmingWhitespace.lowercased() == "permessage-deflate" else {
            return nil
        }
        var serverNoContextTakeover = false
        var clientNoContextTakeover = false
        var serverMaxWindowBits: Int?
        var clientMaxWindowBits: Int?
        var clientMaxWindowBitsSeen = false

        while let part = parts.next() {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = pieces[0].trimmingWhitespace.lowercased()
            var value: Substring?
            if pieces.count == 2 {
                var raw = pieces[1].trimmingWhitespace
                // RFC 7692 allows the value as a quoted string: `client_max_window_bits="10"`.
                if raw.count >= 2, raw.first == "\"", raw.last == "\"" { raw = raw.dropFirst().dropLast() }
                value = raw
            }
            switch key {
            case "server_no_context_takeover":
                guard !serverNoContextTakeover, value == nil else { return nil }
                serverNoContextTakeover = true
            case "client_no_context_takeover":
                guard !clientNoContextTakeover, value == nil else { return nil }
                clientNoContextTakeover = true
            case "server_max_window_bits":
                guard serverMaxWindowBits == nil, let value, let bits = windowBits(value) else { return nil }
                serverMaxWindowBits = bits
            case "client_max_window_bits":
                guard !clientMaxWindowBitsSeen else { return nil }
                clientMaxWindowBitsSeen = true
                if let value {
                    guard let bits = windowBits(value) else { return nil }
                    clientMaxWindowBits = bits
                }
            default:
                return nil
            }
        }

        // zlib turns a raw 8-bit window into 9 bits, which would break the client's limit: decline the offer.
        if let requested = serverMaxWindowBits, requested < 9 { return nil }
        let serverBits = min(configuration.serverMaxWindowBits, serverMaxWindowBits ?? 15)
        return PerMessageDeflateParameters(
            serverNoContextTakeover: serverNoContextTakeover || configuration.serverNoContextTakeover,
            clientNoContextTakeover: clientNoContextTakeover,
            serverMaxWindowBits: UInt8(serverBits),
            clientMaxWindowBits: UInt8(clientMaxWindowBits ?? 15)
        )
    }

    /// A window-bits value: 8...15 written as plain decimal digits without leading zeros.
    private static func windowBits(_ value: Substring) -> Int? {
        guard value.count <= 2, value.first != "0", value.allSatisfy({ $0.isASCII && $0.isNumber }),
            let bits = Int(value), (8...15).contains(bits)
        else { return nil }
        return bits
    }
}

extension Substring {
    /// The substring without surrounding spaces and tabs.
    var trimmingWhitespace: Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
