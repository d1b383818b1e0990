/// Size limits the request parser enforces while bytes arrive, so a slow or hostile peer cannot make a connection
/// buffer more than a bounded amount before it is answered and closed.
public struct HTTPLimits: Sendable, Equatable {
    /// Longest request line in bytes, without its line ending. Exceeding it fails with 414 URI Too Long.
    public var maxRequestLineLength: Int
    /// Most header fields in one request. Exceeding it fails with 431 Request Header Fields Too Large.
    public var maxHeaderCount: Int
    /// Most bytes of all header lines together (line endings not counted; trailers of a chunked body count too).
    /// Exceeding it fails with 431 Request Header Fields Too Large.
    public var maxHeaderBytes: Int
    /// Largest body in bytes, declared by `Content-Length` or decoded from chunks. Exceeding it fails with
    /// 413 Content Too Large; a declared length is checked before any body byte is read.
    public var maxBodyBytes: Int
    /// Longest chunk-size line of a chunked body (size plus extensions), without its line ending.
    /// Exceeding it fails with 400 Bad Request.
    public var maxChunkLineLength: Int

    /// Creates limits; every parameter has a default suited to a chat and presence server.
    ///
    /// - Parameters:
    ///   - maxRequestLineLength: Longest request line in bytes (default 8192).
    ///   - maxHeaderCount: Most header fields (default 64).
    ///   - maxHeaderBytes: Most bytes of all header lines together (default 16384).
    ///   - maxBodyBytes: Largest body (default 1 MiB).
    ///   - maxChunkLineLength: Longest chunk-size line (default 1024).
    public init(
        maxRequestLineLength: Int = 8192,
        maxHeaderCount: Int = 64,
        maxHeaderBytes: Int = 16384,
        maxBodyBytes: Int = 1 << 20,
        maxChunkLineLength: Int = 1024
    ) {
        self.maxRequestLineLength = maxRequestLineLength
        self.maxHeaderCount = maxHeaderCount
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
        self.maxChunkLineLength = maxChunkLineLength
    }
}
