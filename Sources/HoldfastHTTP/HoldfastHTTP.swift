// HoldfastHTTP: HTTP/1.1 request parsing and response writing for Holdfast (RFC 9110, RFC 9112).
//
// Contract:
// - Pure: bytes in, values out. No sockets, threads, clocks or Foundation; the server owns all I/O.
// - Lifecycle: one `HTTPRequestParser` per connection. Feed it received bytes; on `.request` route the request
//   and keep the bytes after `consumed` (the next pipelined request, or WebSocket frames after an upgrade).
//   The parser is then ready for the next request.
// - Errors: every peer fault is an `HTTPParseError` whose `status` is the answer (400, 413, 414, 431, 501, 505),
//   sent with `HTTPResponse.parseFailure(_:)` before closing. Untrusted input never reaches a trap.
// - Limits: `HTTPLimits` bounds what a connection can make the parser buffer, enforced as bytes arrive.
// - Performance: each input byte is examined once (linear on byte-at-a-time input); a head allocates its bytes
//   (kept by the request, with the method, target and fields as byte ranges into them) and the field ranges,
//   and no strings: those are made only when a caller asks for one. The fields the server reads on every
//   request (`HTTPKnownField`: framing and WebSocket upgrade) are recognised once, as their lines are read, and
//   found later by index. A body reserves up to 64 KiB from its declared length and grows only as bytes arrive.
