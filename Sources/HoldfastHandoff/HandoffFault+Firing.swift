import Glibc

extension HandoffFault {
    /// Tests only: performs the fault's action if it is armed for `side` at the `occurrence`-th time `step` is
    /// reached, after `announce` (the log line); a no-op otherwise, always in production, where no fault can be
    /// armed. `exit9` and `hang` never return.
    public static func fire(
        _ fault: HandoffFault?, side: Side, step: String, occurrence: Int = 1, channel: HandoffChannel?,
        announce: (HandoffFault) -> Void
    ) {
        guard let fault, fault.fires(on: side, at: step, occurrence: occurrence) else { return }
        announce(fault)
        switch fault.action {
        case .exit9:
            kill(getpid(), SIGKILL)
            while true { pause() }
        case .hang:
            while true { sleep(3600) }
        case .closeChannel:
            channel?.close()
        case .garbage:
            // Neither a control message nor a record: the peer must refuse it, not act on it.
            try? channel?.send([0xFF, 0x00, 0xA5, 0x5A, 0xFF, 0xFF, 0x13, 0x37], timeoutMilliseconds: 1_000)
        }
    }
}
