/// A hash that is the same in every process and every run (Swift's `Hasher` is seeded per process), for choosing
/// a room's home loop so that the old and the new process of a binary upgrade agree.
public enum StableHash {
    /// 64-bit FNV-1a of `text`'s UTF-8 bytes.
    public static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
