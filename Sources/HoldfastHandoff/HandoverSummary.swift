public import HoldfastJSON

/// The old process's account of a committed binary upgrade, beside the pause: who took over, what the pause sent
/// and how long each step took (the upgrade record's extra members, see docs/upgrades.md).
public struct HandoverSummary: Sendable {
    public var pids: (old: Int32, new: Int32)
    public var newVersion: String, binary: String
    /// The pause's round over the connections.
    public var final: FinalConnections
    /// Connections sent whole, as output and as progress in the pause, and the bytes of its stream.
    public var sent: (changed: Int, outputs: Int, progress: Int, bytes: Int)
    public var listeners: Int
    public var roomsAsChanges: Bool, acknowledged: Bool
    public var totalMilliseconds: Double, pauseCPUMilliseconds: Double
    public var timings: StepTimings

    public init(
        pids: (old: Int32, new: Int32), newVersion: String, binary: String, final: FinalConnections,
        sent: (changed: Int, outputs: Int, progress: Int, bytes: Int), listeners: Int, roomsAsChanges: Bool,
        acknowledged: Bool, totalMilliseconds: Double, pauseCPUMilliseconds: Double, timings: StepTimings
    ) {
        (self.pids, self.newVersion, self.binary, self.final, self.sent) = (pids, newVersion, binary, final, sent)
        (self.listeners, self.roomsAsChanges, self.acknowledged) = (listeners, roomsAsChanges, acknowledged)
        (self.totalMilliseconds, self.pauseCPUMilliseconds) = (totalMilliseconds, pauseCPUMilliseconds)
        self.timings = timings
    }

    /// The members the admin answer and `/admin/status` carry.
    public var members: [JSONMember] {
        [
            JSONMember("old_pid", .integer(Int64(pids.old))),
            JSONMember("new_pid", .integer(Int64(pids.new))),
            JSONMember("new_version", .string(newVersion)),
            JSONMember("binary", .string(binary)),
            JSONMember("connections", .integer(Int64(final.open))),
            JSONMember("changed_in_pause", .integer(Int64(sent.changed))),
            JSONMember("output_in_pause", .integer(Int64(sent.outputs))),
            JSONMember("progress_in_pause", .integer(Int64(sent.progress))),
            JSONMember("left_behind", .integer(Int64(final.leftBehind))),
            JSONMember("listeners", .integer(Int64(listeners))),
            JSONMember("state_bytes_in_pause", .integer(Int64(sent.bytes))),
            JSONMember("rooms_as_changes", .bool(roomsAsChanges)),
            JSONMember("acknowledged", .bool(acknowledged)),
            JSONMember("total_ms", .double(totalMilliseconds)),
            JSONMember("steps_ms", timings.wallJSON), JSONMember("steps_cpu_ms", timings.cpuJSON),
            JSONMember("pause_cpu_ms", .double(pauseCPUMilliseconds)),
        ]
    }

    /// The log line's fields beyond the destination and the pause.
    public var logFields: [(String, String)] {
        [
            ("state-bytes", "\(sent.bytes)"), ("rooms-as-changes", "\(roomsAsChanges)"),
            ("output-in-pause", "\(sent.outputs)"), ("progress-in-pause", "\(sent.progress)"),
            // carried / queued already at the last round
            ("queued-bytes-in-pause", "\(final.queuedBytes)/\(final.queuedBeforeBytes)"),
            ("steps-ms", "\(timings)"), ("steps-cpu-ms", timings.cpuDescription),
            ("pause-cpu-ms", "\(pauseCPUMilliseconds)"),
        ] + (timings.threads.isEmpty ? [] : [("steps-threads", timings.threadsDescription)])
    }
}
