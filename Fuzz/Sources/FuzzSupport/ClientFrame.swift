/// A masked client frame (RFC 6455 §5.2) around `payload`, with the mask key 0x12345678.
public func clientFrame(opcode: UInt8, fin: Bool, rsv1: Bool, payload: some Collection<UInt8>) -> [UInt8] {
    var frame: [UInt8] = [(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode]
    let count = payload.count
    if count < 126 {
        frame.append(0x80 | UInt8(count))
    } else if count <= 0xFFFF {
        frame += [0x80 | 126, UInt8(count >> 8), UInt8(count & 0xFF)]
    } else {
        frame.append(0x80 | 127)
        for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8(truncatingIfNeeded: count >> shift)) }
    }
    let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]
    frame += key
    for (index, byte) in payload.enumerated() { frame.append(byte ^ key[index & 3]) }
    return frame
}
