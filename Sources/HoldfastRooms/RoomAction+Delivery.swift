extension RoomAction {
    /// Whether the action only delivers to members or changes who they are: a runtime may collect these and send
    /// them together, as long as every other action comes after the deliveries made before it.
    public var isDelivery: Bool {
        switch self {
        case .broadcast, .finishJoin, .close, .reply, .push, .sendPresenceState, .admit, .dismiss: true
        case .readHistory, .scheduleCommit, .scheduleCommitAfterFanOut, .persist, .wakeAt, .staged, .exported, .log,
            .answerPublish, .membership:
            false
        }
    }
}
