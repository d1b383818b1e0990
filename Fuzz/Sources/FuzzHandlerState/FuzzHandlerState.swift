import FuzzSupport
import HoldfastHandlerAPI

/// Input: handler state as a plugin would get it back after an upgrade. The first byte picks the reads: values
/// only, or a cycle of every reader method starting at a chosen one.
@main
enum FuzzHandlerState {
    static func main() {
        FuzzDriver.run { input in
            guard let selector = input.first else { return }
            var reader = BinaryReader(Array(input.dropFirst()))
            var values: [HandlerValue] = []
            var step = Int(selector >> 1)
            do {
                while !reader.isAtEnd {
                    let before = reader.offset
                    if selector & 1 == 0 {
                        values.append(try reader.readHandlerValue())
                    } else {
                        switch step % 9 {
                        case 0: _ = try reader.readByte()
                        case 1: _ = try reader.readBool()
                        case 2: _ = try reader.readUInt64()
                        case 3: _ = try reader.readInt64()
                        case 4: _ = try reader.readInt()
                        case 5: _ = try reader.readCount()
                        case 6: _ = try reader.readDouble()
                        case 7: _ = try reader.readString()
                        default: values.append(try reader.readHandlerValue(maxDepth: Int(selector >> 4)))
                        }
                        step += 1
                    }
                    require(reader.offset > before, "a read consumed nothing")
                }
                try reader.expectEnd()
            } catch {
                return
            }
            // What was read writes back to bytes that read as the same bytes again.
            var writer = BinaryWriter()
            for value in values { writer.write(value) }
            var again = BinaryReader(writer.bytes)
            var rewriter = BinaryWriter()
            do {
                for _ in values { rewriter.write(try again.readHandlerValue()) }
                try again.expectEnd()
            } catch {
                require(false, "written values do not read back: \(error)")
            }
            require(rewriter.bytes == writer.bytes, "values changed on a second write")
        }
    }
}
