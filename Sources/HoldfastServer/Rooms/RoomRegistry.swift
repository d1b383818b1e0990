import HoldfastActors
import HoldfastChannels
import HoldfastCore
import HoldfastHandoff
import HoldfastPresence
import Logging
import Synchronization

/// Finds (or creates) the room of a topic and delivers messages to it on its home loop.
///
/// A room's home loop is chosen by a stable hash of its topic, so every message for a room is handled on one
/// thread in arrival order, without locks.
final class RoomRegistry: Sendable {
    private let loops: [EventLoop]
    private let services: RoomServices
    private let supervisor: Supervisor
    private let refs = Mutex<[String: ActorRef<RoomMessage>]>([:])

    /// Creates the registry with its supervisor: rooms are `one_for_one` children, each restarted on its own
    /// when it fails; a storm of failures beyond the intensity is escalated (logged as critical).
    init(loops: [EventLoop], services: RoomServices) throws {
        self.loops = loops
        self.services = services
        let logger = services.logger
        self.supervisor = try Supervisor(
            name: "rooms", strategy: .oneForOne, maxRestarts: 100, withinMilliseconds: 10_000,
            onEscalate: { escalation in
                logger.critical("room supervisor gave up", metadata: ["escalation": "\(escalation)"])
            })
    }

    /// Delivers `message` to the room of `topic`, starting the room on first use.
    func send(_ topic: String, _ message: RoomMessage) {
        guard let ref = room(topic) else {
            services.logger.error("room unavailable, message dropped", metadata: ["room": "\(topic)"])
            return
        }
        ref.send(message)
    }

    private func room(_ topic: String) -> ActorRef<RoomMessage>? {
        refs.withLock { refs -> ActorRef<RoomMessage>? in
            if let ref = refs[topic] { return ref }
            return startRoom(topic, membership: RoomMembership(), in: &refs)
        }
    }

    /// Starts the supervised actor of `topic` on its home loop with `membership` and records its ref.
    private func startRoom(
        _ topic: String, membership: RoomMembership, in refs: inout [String: ActorRef<RoomMessage>]
    ) -> ActorRef<RoomMessage>? {
        let loop = loops[Int(stableHash(topic) % UInt64(loops.count))]
        let services = self.services
        let spec = ChildSpec(id: topic, restart: .permanent, loop: loop) {
            RoomActor(topic: topic, services: services, membership: membership)
        }
        guard let ref = try? supervisor.startChild(spec, as: RoomMessage.self) else { return nil }
        refs[topic] = ref
        return ref
    }

    /// Rebuilds a room handed over by the previous process (binary upgrade), with its members' objects made from
    /// their adopted connections; members whose connection did not come across are left out (the room untracks
    /// them). Call before the loops start; then send ``RoomMessage/resumeAfterHandoff``.
    func adopt(
        _ snapshot: RoomSnapshot, presence: PresenceSnapshot, members: [UInt64: RoomMember]
    ) -> ActorRef<RoomMessage>? {
        let seed = RoomHandoffSeed(
            presence: presence, awaitingState: snapshot.awaitingState, pending: snapshot.pending, members: members)
        let membership = RoomMembership(adopting: seed, lastAssignedID: snapshot.lastID)
        return refs.withLock { startRoom(snapshot.topic, membership: membership, in: &$0) }
    }

    /// The version of the chat handler code in use.
    var handlerVersion: String { services.handler.version }

    /// Number of rooms started so far.
    var roomCount: Int { refs.withLock { $0.count } }

    /// Every room's mailbox (for suspending them all around a handler upgrade).
    var allRooms: [ActorRef<RoomMessage>] { refs.withLock { Array($0.values) } }

    /// Holds (or releases) chat commits in every room (binary upgrade); on release, rooms with pending messages
    /// commit them.
    func holdCommits(_ held: Bool) {
        services.commitsHeld.store(held, ordering: .releasing)
        if !held { for room in allRooms { room.send(.commitPending) } }
    }

    /// Whether every chat message handed to the history writer has been committed and reported back.
    var historyWriterIsIdle: Bool { services.historyWriter.isIdle }

    /// Room restarts since start.
    var restartCount: Int { supervisor.restartCount }

    /// Test hook: the room of `topic` fails on its next message, as if its code had thrown.
    func injectFault(topic: String) {
        _ = refs.withLock { $0[topic] }?.injectFault()
    }

    private func stableHash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}

/// The actor behavior of a room: builds the ``Room`` on its home loop at the first message (so the SQLite
/// connection of that loop is only ever used there) and, after a restart, resyncs presence to every member.
final class RoomActor: ActorBehavior {
    typealias Message = RoomMessage

    let topic: String
    let services: RoomServices
    let membership: RoomMembership
    private var room: Room?

    init(topic: String, services: RoomServices, membership: RoomMembership) {
        self.topic = topic
        self.services = services
        self.membership = membership
    }

    func handle(_ message: RoomMessage, context: ActorContext<RoomMessage>) throws {
        if room == nil {
            let room = try Room(
                topic: topic, loop: context.loop, services: services, membership: membership, mailbox: context.ref)
            self.room = room
            if context.restartCount > 0 {
                services.logger.notice("room restarted, presence rebuilt", metadata: ["room": "\(topic)", "restarts": "\(context.restartCount)"])
                room.resyncPresence()
            }
        }
        try room!.handle(message)
    }
}
