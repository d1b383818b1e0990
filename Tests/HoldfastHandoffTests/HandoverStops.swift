import HoldfastHandoff
import Testing

/// A place on the old side's way forward: the events that lead there from the start, and exactly what failing
/// there must undo, in order (the report follows).
struct HandoverStop: Sendable, CustomTestStringConvertible {
    let name: String
    let events: [HandoverMachine.Event]
    let state: HandoverMachine.State
    let undo: [HandoverMachine.Action]
    /// The answer the new process owes next (nil once DONE arrived: COMMIT is what is still missing).
    let owes: HandoffStep?

    var testDescription: String { name }

    /// A machine driven to this stop.
    func machine() -> HandoverMachine {
        var machine = HandoverMachine()
        for event in events { _ = machine.handle(event) }
        return machine
    }
}

enum HandoverStops {
    static let ready = HandoffControl.ready(pid: 4321, version: "2.0.0")
    static let staged = HandoffControl.staged(connections: 10)
    static let done = HandoffControl.done(connections: 10, rooms: 2, rebuildMilliseconds: 1.5)

    static let child: [HandoverMachine.Action] = [.killChild, .closeChannel]
    static let paused: [HandoverMachine.Action] = child + [.resumeIO, .releaseListeners, .releaseCommits]
    static let frozen: [HandoverMachine.Action] =
        child + [.unfreezeLoops, .resumeIO, .releaseListeners, .releaseCommits]

    /// Every state before COMMIT, in the order the way forward reaches them.
    static let beforeCommit: [HandoverStop] = {
        var stops: [HandoverStop] = []
        var events: [HandoverMachine.Event] = []
        func stop(_ name: String, after event: HandoverMachine.Event?, _ state: HandoverMachine.State,
                  undo: [HandoverMachine.Action], owes: HandoffStep? = nil) {
            if let event { events.append(event) }
            stops.append(HandoverStop(name: name, events: events, state: state, undo: undo, owes: owes))
        }
        stop("idle", after: nil, .idle, undo: [])
        stop("spawning", after: .start, .spawning, undo: [.closeChannel], owes: .ready)
        stop("awaiting READY", after: .completed(.spawned), .awaiting(.ready), undo: child, owes: .ready)
        stop("holding listeners", after: .received(ready), .holdingListeners, undo: child + [.releaseListeners],
             owes: .staged)
        stop("staging", after: .completed(.listenersHeld), .staging(round: 1),
             undo: child + [.closeDeferredSockets, .releaseListeners], owes: .staged)
        stop("awaiting STAGED", after: .roundSent(changed: 10), .awaiting(.staged(round: 1, changed: 10)),
             undo: child + [.releaseListeners], owes: .staged)
        stop("restaging", after: .received(staged), .staging(round: 2),
             undo: child + [.closeDeferredSockets, .releaseListeners], owes: .staged)
        stop("awaiting STAGED again", after: .roundSent(changed: 3), .awaiting(.staged(round: 2, changed: 3)),
             undo: child + [.releaseListeners], owes: .staged)
        stop("holding commits", after: .received(staged), .holdingCommits,
             undo: child + [.releaseListeners, .releaseCommits], owes: .done)
        stop("pausing I/O", after: .completed(.commitsHeld), .pausingIO, undo: paused, owes: .done)
        stop("exporting rooms", after: .completed(.ioPaused), .exportingRooms, undo: paused, owes: .done)
        stop("exporting connections", after: .completed(.roomsExported), .exportingConnections, undo: frozen,
             owes: .done)
        stop("sending the final stream", after: .completed(.connectionsExported), .sendingFinal, undo: frozen,
             owes: .done)
        stop("awaiting DONE", after: .completed(.finalSent), .awaiting(.done), undo: frozen, owes: .done)
        stop("committing", after: .received(done), .committing, undo: frozen)
        return stops
    }()

    /// A machine driven to `state` (an idle one, which no test expects, if no stop is there).
    static func machine(at state: HandoverMachine.State) -> HandoverMachine {
        beforeCommit.first { $0.state == state }?.machine() ?? HandoverMachine()
    }

    /// The states that wait for an answer of the new process, with the step it is for.
    static let awaiting: [HandoverStop] = beforeCommit.filter {
        if case .awaiting = $0.state { true } else { false }
    }

    /// Committed, waiting for ACK.
    static let awaitingAck = HandoverStop(
        name: "awaiting ACK", events: beforeCommit[beforeCommit.count - 1].events + [.completed(.commitSent)],
        state: .awaitingAck, undo: [], owes: nil)
}
