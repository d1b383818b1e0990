internal import Glibc

/// Why the server secret could not be loaded or created; each description says what to do.
public enum SecretError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `HOLDFAST_SECRET_KEY` is set but shorter than 32 bytes.
    case configuredTooShort(bytes: Int)
    /// The state directory is missing and could not be created (`errno` from `mkdir`).
    case cannotCreateDirectory(path: String, errno: Int32)
    /// The secret file exists but could not be read (`errno` from `open`/`read`).
    case cannotRead(path: String, errno: Int32)
    /// A new secret file could not be written (`errno` from `open`/`write`/`fsync`/`rename`).
    case cannotWrite(path: String, errno: Int32)
    /// The secret file is readable by group or others (`mode` holds its permission bits).
    case insecurePermissions(path: String, mode: UInt32)
    /// The secret file is not a regular file or holds fewer than 32 bytes.
    case corrupt(path: String, bytes: Int)
    /// libcrypto's `RAND_bytes` failed, so no secret could be generated.
    case randomUnavailable

    /// A one-line explanation with the next step for the operator.
    public var description: String {
        switch self {
        case .configuredTooShort(let bytes):
            return "HOLDFAST_SECRET_KEY is \(bytes) bytes; use at least 32 (for example `openssl rand -hex 32`), "
                + "or unset it to let Holdfast generate one in state_dir"
        case .cannotCreateDirectory(let path, let code):
            return "cannot create state directory \(path): \(Self.reason(code)); "
                + "create it (mode 0700, owned by the Holdfast user) or point state_dir at a writable directory"
        case .cannotRead(let path, let code):
            return "cannot read secret file \(path): \(Self.reason(code)); "
                + "make it a regular file readable by the Holdfast user, or set HOLDFAST_SECRET_KEY"
        case .cannotWrite(let path, let code):
            return "cannot write secret file \(path): \(Self.reason(code)); "
                + "make state_dir writable by the Holdfast user, or set HOLDFAST_SECRET_KEY"
        case .insecurePermissions(let path, let mode):
            return "secret file \(path) has mode \(String(mode & 0o777, radix: 8)), readable by other users; "
                + "run `chmod 600 \(path)` (and consider rotating the secret)"
        case .corrupt(let path, let bytes):
            return "secret file \(path) is not a regular file of at least 32 bytes (found \(bytes)); "
                + "delete it to generate a new secret (tokens already issued will stop working)"
        case .randomUnavailable:
            return "the system random number generator failed; check that getrandom or /dev/urandom works, "
                + "or set HOLDFAST_SECRET_KEY"
        }
    }

    private static func reason(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
