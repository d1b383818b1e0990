import Glibc

/// A request head read where its bytes lie: the bytes, the method and target ranges, the fields' ranges and the
/// index of known fields, all borrowed. It exists only inside the closure that is handed it
/// (``HTTPHeadView/parse(_:limits:_:)`` over a read buffer, ``HTTPRequest/withHeadView(_:)`` over a request), so
/// reading a WebSocket upgrade's head costs no copy and no allocation.
///
/// Field names compare ignoring ASCII case; a known field that repeats is found by scanning every name, as in
/// ``HTTPRequest``.
public struct HTTPHeadView {
    /// The head's bytes; every range below points into them.
    let bytes: UnsafeBufferPointer<UInt8>
    let methodRange: Range<Int>
    let targetRange: Range<Int>
    /// Each field's name and value (without surrounding whitespace), in arrival order.
    let fields: UnsafeBufferPointer<HTTPFieldRange>
    let known: HTTPKnownFieldIndex
    /// The HTTP minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    public let minorVersion: Int

    /// The request method as sent (a string, for log lines and refusals).
    public var method: String { String(decoding: bytes.range(methodRange), as: UTF8.self) }

    /// The request target as sent.
    public var target: String { String(decoding: bytes.range(targetRange), as: UTF8.self) }

    /// Whether the method is exactly `name` (case-sensitive).
    public func hasMethod(_ name: StaticString) -> Bool {
        name.utf8CodeUnitCount == methodRange.count
            && memcmp(bytes.baseAddress! + methodRange.lowerBound, name.utf8Start, methodRange.count) == 0
    }

    /// Whether the path part of the target (before `?`) is exactly `path`.
    public func hasPath(_ path: StaticString) -> Bool {
        let count = path.utf8CodeUnitCount
        let target = bytes.range(targetRange)
        guard target.count >= count else { return false }
        if target.count > count && target[count] != UInt8(ascii: "?") { return false }
        return memcmp(target.baseAddress!, path.utf8Start, count) == 0
    }

    /// The path part of the target (before `?`), as a string.
    public var path: Substring {
        let target = bytes.range(targetRange)
        let mark = target.firstIndex(of: UInt8(ascii: "?")) ?? target.count
        return String(decoding: UnsafeBufferPointer(rebasing: target[..<mark]), as: UTF8.self)[...]
    }

    /// The raw query string (after `?`), or an empty string.
    public var query: Substring {
        let target = bytes.range(targetRange)
        guard let mark = target.firstIndex(of: UInt8(ascii: "?")) else { return "" }
        return String(decoding: UnsafeBufferPointer(rebasing: target[(mark + 1)...]), as: UTF8.self)[...]
    }

    /// Header fields in arrival order as strings (names as sent, values trimmed), made on each call: for checks
    /// and diagnostics, not for the upgrade.
    public var headers: [(name: String, value: String)] {
        fields.map {
            (String(decoding: bytes.range($0.name), as: UTF8.self), String(decoding: bytes.range($0.value), as: UTF8.self))
        }
    }

    /// The bytes of the first value of a known field, borrowed like the view.
    public func headerBytes(_ field: HTTPKnownField) -> UnsafeBufferPointer<UInt8>? {
        guard let position = firstPosition(field) else { return nil }
        return bytes.range(fields[position].value)
    }

    /// The first value of a known field, as a string.
    public func header(_ field: HTTPKnownField) -> String? {
        headerBytes(field).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether a known field is present.
    public func hasHeader(_ field: HTTPKnownField) -> Bool {
        known.first(field) != nil || known.isRepeated(field)
    }

    /// Whether one of the comma-separated elements of a known field (any of its lines) equals `token`, ignoring
    /// ASCII case.
    public func headerContainsToken(_ field: HTTPKnownField, _ token: StaticString) -> Bool {
        let token = UnsafeBufferPointer(start: token.utf8Start, count: token.utf8CodeUnitCount)
        if !known.isRepeated(field) {  // the usual case, without the closure
            guard let position = known.first(field) else { return false }
            return bytes.range(fields[position].value).listContains(token: token)
        }
        var found = false
        forEach(field) { position in
            found = bytes.range(fields[position].value).listContains(token: token)
            return !found
        }
        return found
    }

    /// Every value of a known field, split on commas, trimmed, in order; no work when the head lacks it.
    public func headerValues(_ field: HTTPKnownField) -> [Substring] {
        guard hasHeader(field) else { return [] }
        var values: [Substring] = []
        forEach(field) { position in
            let value = String(decoding: bytes.range(fields[position].value), as: UTF8.self)
            for part in value.split(separator: ",") {
                let trimmed = part.trimmingSpaces
                if !trimmed.isEmpty { values.append(trimmed) }
            }
            return true
        }
        return values
    }

    /// The position of the first `field`: the index's, or a scan when the field repeats.
    private func firstPosition(_ field: HTTPKnownField) -> Int? {
        guard known.isRepeated(field) else { return known.first(field) }
        var first: Int?
        forEach(field) { position in
            first = position
            return false
        }
        return first
    }

    /// Calls `body` with the position of each `field`, in order, until it returns false.
    private func forEach(_ field: HTTPKnownField, _ body: (Int) -> Bool) {
        guard known.isRepeated(field) else {
            if let position = known.first(field) { _ = body(position) }
            return
        }
        for position in fields.indices {
            let name = UnsafeRawBufferPointer(bytes.range(fields[position].name))
            // Only a token can be a known field (a request built from parts may carry any name).
            guard HTTPByteScan.isToken(name), HTTPKnownField.recognize(name) == field else { continue }
            if !body(position) { return }
        }
    }
}

extension HTTPRequest {
    /// Calls `body` with a view of this request's head (the same answers as the request's own accessors), so code
    /// that reads heads in place serves a parsed request too.
    public func withHeadView<Result>(_ body: (HTTPHeadView) -> Result) -> Result {
        head.withUnsafeBufferPointer { bytes in
            fields.withUnsafeBufferPointer { fields in
                body(
                    HTTPHeadView(
                        bytes: bytes, methodRange: methodRange, targetRange: targetRange, fields: fields, known: known,
                        minorVersion: minorVersion))
            }
        }
    }
}
