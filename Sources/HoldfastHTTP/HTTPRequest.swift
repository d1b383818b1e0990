import Glibc

/// One parsed HTTP/1.1 request: the request line, the header fields in arrival order and the body.
///
/// The head is kept as the bytes the parser read (each line without its line ending), with the method, the
/// target and every field's name and value stored as byte ranges into them: parsing a request makes no string.
/// ``method``, ``target``, ``path``, ``header(_:)`` and ``headers`` make strings when asked; the byte-level
/// accessors (``hasMethod(_:)``, ``headerBytes(_:)``, ``headerContainsToken(_:_:)``) compare in place, names
/// ignoring ASCII case.
public struct HTTPRequest: Sendable, Equatable {
    /// The head's bytes: the request line and each header line, line endings dropped.
    let head: [UInt8]
    /// Where the method and the target lie in `head`.
    let methodRange: Range<Int>
    let targetRange: Range<Int>
    /// Where each field's name and value (without surrounding whitespace) lie in `head`, in arrival order.
    let fields: [HTTPFieldRange]
    /// Where the known fields are among `fields` (see ``HTTPKnownField``).
    let known: HTTPKnownFieldIndex
    /// The HTTP minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var minorVersion: Int
    /// The body (empty when there is none).
    public var body: [UInt8]

    /// A request over parsed head bytes.
    init(head: [UInt8], method: Range<Int>, target: Range<Int>, minorVersion: Int, fields: [HTTPFieldRange],
         known: HTTPKnownFieldIndex, body: [UInt8]) {
        self.head = head
        self.methodRange = method
        self.targetRange = target
        self.minorVersion = minorVersion
        self.fields = fields
        self.known = known
        self.body = body
    }

    /// Creates a request from its parts.
    public init(
        method: String,
        target: String,
        minorVersion: Int = 1,
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = []
    ) {
        var head = Array(method.utf8)
        let methodRange = 0..<head.count
        head.append(contentsOf: target.utf8)
        let targetRange = methodRange.upperBound..<head.count
        var fields: [HTTPFieldRange] = []
        var known = HTTPKnownFieldIndex()
        for (name, value) in headers {
            let nameStart = head.count
            head.append(contentsOf: name.utf8)
            let valueStart = head.count
            head.append(contentsOf: value.utf8)
            // Only a token can be a known field (``HTTPKnownField/recognize(_:)`` expects one).
            let nameBytes = head[nameStart..<valueStart]
            if nameBytes.isToken, let field = nameBytes.withUnsafeBytes(HTTPKnownField.recognize) {
                known.record(field, at: fields.count)
            }
            fields.append(HTTPFieldRange(name: nameStart..<valueStart, value: valueStart..<head.count))
        }
        self.init(
            head: head, method: methodRange, target: targetRange, minorVersion: minorVersion, fields: fields,
            known: known, body: body)
    }

    /// The request method as sent (`GET`, `POST`, ...). Methods are case-sensitive (RFC 9110 §9.1).
    public var method: String { String(decoding: head[methodRange], as: UTF8.self) }

    /// Whether the method is exactly `name` (case-sensitive), compared without making a string.
    public func hasMethod(_ name: StaticString) -> Bool {
        let method = methodRange
        guard name.utf8CodeUnitCount == method.count else { return false }
        return head.withUnsafeBytes { head in
            guard let start = head.baseAddress else { return method.isEmpty }
            return memcmp(start + method.lowerBound, name.utf8Start, method.count) == 0
        }
    }

    /// The request target exactly as sent, e.g. `/socket/websocket?vsn=2.0.0`.
    public var target: String { String(decoding: head[targetRange], as: UTF8.self) }

    /// Whether the path part of the target (before `?`) is exactly `path`, compared without making a string.
    public func hasPath(_ path: StaticString) -> Bool {
        let count = path.utf8CodeUnitCount
        let target = targetRange
        guard target.count >= count else { return false }
        return head.withUnsafeBytes { head in
            guard let start = head.baseAddress?.advanced(by: target.lowerBound) else { return false }
            if target.count > count && head[target.lowerBound + count] != UInt8(ascii: "?") { return false }
            return memcmp(start, path.utf8Start, count) == 0
        }
    }

    /// The path part of the target (before `?`).
    public var path: Substring {
        String(decoding: head[targetRange.lowerBound..<queryMark], as: UTF8.self)[...]
    }

    /// The raw query string (after `?`), or an empty string.
    public var query: Substring {
        let mark = queryMark
        guard mark < targetRange.upperBound else { return "" }
        return String(decoding: head[(mark + 1)..<targetRange.upperBound], as: UTF8.self)[...]
    }

    /// Where `?` is in the target, or the target's end.
    private var queryMark: Int {
        head[targetRange].firstIndex(of: UInt8(ascii: "?")) ?? targetRange.upperBound
    }

    /// Header fields in arrival order; names as sent, values with surrounding whitespace removed. Made on
    /// each call: prefer ``header(_:)`` and the byte-level accessors.
    public var headers: [(name: String, value: String)] {
        fields.map {
            (String(decoding: head[$0.name], as: UTF8.self), String(decoding: head[$0.value], as: UTF8.self))
        }
    }

    /// How many header fields the request has.
    public var headerCount: Int { fields.count }

    /// The first value of the named header field, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headerBytes(name).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The bytes of the first value of the named header field (name compared ignoring ASCII case), without a
    /// copy.
    public func headerBytes(_ name: String) -> ArraySlice<UInt8>? {
        firstValueRange(name).map { head[$0] }
    }

    /// The bytes of the first value of a known header field, without a copy or a comparison of names.
    public func headerBytes(_ field: HTTPKnownField) -> ArraySlice<UInt8>? {
        if known.isRepeated(field) { return headerBytes(field.name) }
        return known.first(field).map { head[fields[$0].value] }
    }

    /// The first value of a known header field.
    public func header(_ field: HTTPKnownField) -> String? {
        headerBytes(field).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether a known header field is present.
    public func hasHeader(_ field: HTTPKnownField) -> Bool {
        known.first(field) != nil || known.isRepeated(field)
    }

    /// ``headerValues(_:)`` of a known field: no work at all when the request lacks it.
    public func headerValues(_ field: HTTPKnownField) -> [Substring] {
        hasHeader(field) ? headerValues(field.name) : []
    }

    /// ``headerContainsToken(_:_:)`` of a known field: only its own value is searched, unless it repeats.
    public func headerContainsToken(_ field: HTTPKnownField, _ token: StaticString) -> Bool {
        let token = UnsafeBufferPointer(start: token.utf8Start, count: token.utf8CodeUnitCount)
        if known.isRepeated(field) {
            var found = false
            known.forEach(field, in: fields, head: head) { position in
                found = head.withUnsafeBufferPointer { $0.range(fields[position].value).listContains(token: token) }
                return !found
            }
            return found
        }
        guard let position = known.first(field) else { return false }
        return head.withUnsafeBufferPointer { $0.range(fields[position].value).listContains(token: token) }
    }

    /// Where the first value of the named header field lies in `head`.
    private func firstValueRange(_ name: String) -> Range<Int>? {
        var name = name
        return name.withUTF8 { name -> Range<Int>? in
            head.withUnsafeBufferPointer { head -> Range<Int>? in
                for field in fields where head.range(field.name).equalsIgnoringASCIICase(name) {
                    return field.value
                }
                return nil
            }
        }
    }

    /// Every value of the named header field, split on commas, trimmed, in order (for list-valued fields such as
    /// `Connection`, `Sec-WebSocket-Protocol`, `Sec-WebSocket-Extensions`).
    public func headerValues(_ name: String) -> [Substring] {
        var values: [Substring] = []
        var name = name
        name.withUTF8 { name in
            for field in fields where head[field.name].equalsCaseInsensitive(name) {
                // A string only for a field that is present; most requests carry none of these lists.
                let value = String(decoding: head[field.value], as: UTF8.self)
                for part in value.split(separator: ",") {
                    let trimmed = part.trimmingSpaces
                    if !trimmed.isEmpty { values.append(trimmed) }
                }
            }
        }
        return values
    }

    /// Whether one of the comma-separated elements of the named header field equals `token`, both compared
    /// ignoring ASCII case (`Connection: keep-alive, Upgrade` contains `upgrade`). Allocates nothing.
    public func headerContainsToken(_ name: String, _ token: String) -> Bool {
        var name = name
        var token = token
        return name.withUTF8 { name in
            token.withUTF8 { token in
                head.withUnsafeBufferPointer { head in
                    for field in fields where head.range(field.name).equalsIgnoringASCIICase(name) {
                        if head.range(field.value).listContains(token: token) { return true }
                    }
                    return false
                }
            }
        }
    }

    /// Whether the connection stays open after the response (HTTP/1.1 default unless `Connection: close`;
    /// HTTP/1.0 only with `Connection: keep-alive`).
    public var keepAlive: Bool {
        if minorVersion == 0 { return headerContainsToken(.connection, "keep-alive") }
        return !headerContainsToken(.connection, "close")
    }

    public static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.head[lhs.methodRange] == rhs.head[rhs.methodRange]
            && lhs.head[lhs.targetRange] == rhs.head[rhs.targetRange] && lhs.minorVersion == rhs.minorVersion
            && lhs.body == rhs.body && lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy {
                lhs.head[$0.name] == rhs.head[$1.name] && lhs.head[$0.value] == rhs.head[$1.value]
            }
    }
}

extension HTTPRequest: CustomStringConvertible {
    /// The request line, the fields and the body's size, for logs and diagnostics.
    public var description: String {
        let fieldList = headers.map { "\($0.name): \($0.value)" }.joined(separator: ", ")
        return "\(method) \(target) HTTP/1.\(minorVersion) [\(fieldList)] body=\(body.count)"
    }
}

/// Where one header field's name and value lie in a request's head bytes.
struct HTTPFieldRange: Sendable {
    var name: Range<Int>
    var value: Range<Int>
}

extension UnsafeBufferPointer<UInt8> {
    /// The bytes of `range`, as a buffer of its own.
    func range(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: self[range])
    }
}

extension Substring {
    /// The substring without leading and trailing spaces and horizontal tabs (HTTP's OWS).
    var trimmingSpaces: Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
