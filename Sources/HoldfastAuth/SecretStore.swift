internal import COpenSSL
internal import Glibc

/// Loads the server secret that signs connect tokens, generating and storing it on first start.
///
/// Runs once at startup, before the loop; it uses plain blocking file calls.
public enum SecretStore {
    /// The minimum secret length in bytes (the HMAC-SHA256 block of security the tokens rely on).
    public static let minimumBytes = 32

    /// The most a secret file may hold; anything larger is not a file Holdfast wrote.
    private static let maximumFileBytes = 4_096

    /// Returns the secret, from configuration, from the state directory, or freshly generated.
    ///
    /// 1. A non-empty `configured` value (`HOLDFAST_SECRET_KEY`) wins; its UTF-8 bytes are the secret as
    ///    written (a hex string from `openssl rand -hex 32` is used as its 64 characters, not decoded).
    /// 2. Otherwise `stateDirectory/fileName` is read; it must be a regular file of at least 32 bytes,
    ///    not readable by group or others.
    /// 3. Otherwise 32 bytes from `RAND_bytes` are written there with mode 0600 (the directory is created
    ///    0700 if missing) via a temporary file that is fsynced and then linked into place, so a crash never
    ///    leaves a partial secret and two servers starting at once end up sharing the first one written.
    ///
    /// - Parameters:
    ///   - configured: The `HOLDFAST_SECRET_KEY` setting, or empty.
    ///   - stateDirectory: The server's `state_dir`.
    ///   - fileName: The secret file's name inside it.
    /// - Returns: At least ``minimumBytes`` secret bytes.
    /// - Throws: A ``SecretError`` saying what the operator should fix.
    public static func loadOrCreate(
        configured: String, stateDirectory: String, fileName: String = "secret_key"
    ) throws(SecretError) -> [UInt8] {
        if !configured.isEmpty {
            let bytes = Array(configured.utf8)
            guard bytes.count >= minimumBytes else { throw .configuredTooShort(bytes: bytes.count) }
            return bytes
        }
        let path = stateDirectory + "/" + fileName
        if let existing = try read(path) {
            return existing
        }
        try makeDirectory(stateDirectory)
        var secret = [UInt8](repeating: 0, count: minimumBytes)
        guard RAND_bytes(&secret, Int32(secret.count)) == 1 else { throw .randomUnavailable }
        if let winner = try write(secret, to: path, directory: stateDirectory) {
            return winner
        }
        return secret
    }

    /// The secret stored at `path`, or `nil` if there is no such file.
    static func read(_ path: String) throws(SecretError) -> [UInt8]? {
        // O_NOFOLLOW: a symlink planted in the state directory must not redirect the secret.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            let code = errno
            // ENOTDIR: the state directory is not a directory; makeDirectory reports that more clearly.
            if code == ENOENT || code == ENOTDIR { return nil }
            throw .cannotRead(path: path, errno: code)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .cannotRead(path: path, errno: errno) }
        guard info.st_mode & 0o170000 == 0o100000, info.st_size <= maximumFileBytes else {
            throw .corrupt(path: path, bytes: Int(info.st_size))
        }
        guard info.st_mode & 0o077 == 0 else { throw .insecurePermissions(path: path, mode: info.st_mode) }

        var bytes = [UInt8](repeating: 0, count: maximumFileBytes)
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer in
                Glibc.read(fd, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw .cannotRead(path: path, errno: errno)
            }
            filled += count
        }
        guard filled >= minimumBytes else { throw .corrupt(path: path, bytes: filled) }
        return Array(bytes[..<filled])
    }

    /// Creates `path` and any missing parents; the last component gets mode 0700.
    static func makeDirectory(_ path: String) throws(SecretError) {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & 0o170000 == 0o040000 else { throw .cannotCreateDirectory(path: path, errno: ENOTDIR) }
            return
        }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectory(String(path[..<slash]))
        }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
            throw .cannotCreateDirectory(path: path, errno: errno)
        }
    }

    /// Writes `secret` to `path` through an fsynced temporary file.
    ///
    /// - Returns: `nil` if this secret is now the stored one, or the secret another process stored first.
    static func write(_ secret: [UInt8], to path: String, directory: String) throws(SecretError) -> [UInt8]? {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw .cannotWrite(path: temporary, errno: errno) }
        var written = 0
        while written < secret.count {
            let count = secret.withUnsafeBytes { buffer in
                Glibc.write(fd, buffer.baseAddress! + written, buffer.count - written)
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let code = errno
                close(fd)
                unlink(temporary)
                throw .cannotWrite(path: temporary, errno: code)
            }
            written += count
        }
        let synced = fsync(fd) == 0
        let code = errno
        close(fd)
        guard synced else {
            unlink(temporary)
            throw .cannotWrite(path: temporary, errno: code)
        }

        // link() refuses to replace an existing file, so a concurrent first start keeps one secret; file systems
        // without hard links fall back to rename().
        var winner: [UInt8]? = nil
        if link(temporary, path) != 0 {
            let linkError = errno
            if linkError == EEXIST {
                unlink(temporary)
                // Another Holdfast stored its secret first; use that one.
                guard let stored = try read(path) else { throw .cannotRead(path: path, errno: ENOENT) }
                winner = stored
            } else if rename(temporary, path) != 0 {
                let renameError = errno
                unlink(temporary)
                throw .cannotWrite(path: path, errno: renameError)
            }
        } else {
            unlink(temporary)
        }
        syncDirectory(directory)
        return winner
    }

    /// Makes the new directory entry durable; best effort, as some file systems refuse fsync on directories.
    private static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}
