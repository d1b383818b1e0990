import HoldfastWeb
import HoldfastActors
import HoldfastCluster
import HoldfastCore
import HoldfastHistory
import HoldfastJSON
import HoldfastPresence
import HoldfastRooms
import HoldfastWebhooks
import Logging
import Synchronization

/// Finds (or creates) the room of a topic: a supervised actor on the topic's home loop.
///
/// A room's home loop is chosen by a stable hash of its topic, so every message for a room is handled on one
/// thread in arrival order, without locks. A session looks its room up once, at the join, and keeps the ref.
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

    /// The room of `topic`, started on first use; nil (logged) if it cannot be started.
    func room(_ topic: String) -> ActorRef<RoomMessage>? {
        let ref = refs.withLock { refs -> ActorRef<RoomMessage>? in
            if let ref = refs[topic] { return ref }
            return startRoom(topic, keep: RoomKeep(), in: &refs)
        }
        if ref == nil { services.logger.error("room unavailable", metadata: ["room": "\(topic)"]) }
        return ref
    }

    /// The room of `topic` if it was started (the server API reads rooms without starting them).
    func existingRoom(_ topic: String) -> ActorRef<RoomMessage>? { refs.withLock { $0[topic] } }

    /// Members per room with members (the server API's room list).
    var sizes: [(topic: String, members: Int)] { services.metrics.roomSizes.top(Int.max) }

    /// Starts the supervised actor of `topic` on its home loop with `keep` and records its ref.
    private func startRoom(
        _ topic: String, keep: RoomKeep, in refs: inout [String: ActorRef<RoomMessage>]
    ) -> ActorRef<RoomMessage>? {
        let loop = loops[Int(StableHash.fnv1a(topic) % UInt64(loops.count))]
        let services = self.services
        let spec = ChildSpec(id: topic, restart: .permanent, loop: loop) {
            RoomRuntime(topic: topic, services: services, keep: keep)
        }
        guard let ref = try? supervisor.startChild(spec, as: RoomMessage.self) else { return nil }
        refs[topic] = ref
        return ref
    }

    /// Rebuilds a room handed over by the previous process (binary upgrade), with its members' objects made from
    /// their adopted connections (each is pointed at the room); members whose connection did not come across are
    /// left out (the room untracks them), and the answers of the server API publishes awaited on adopted connections,
    /// by ticket; `started`: the room's actor started by ``prestart(_:)``, whose members point at it already. Call
    /// before the loops start; then send ``RoomMessage/resumeAfterHandoff``.
    func adopt(
        _ snapshot: RoomSnapshot, presence: PresenceSnapshot, members: [Int: [UInt64: RoomMember]],
        waiters: [UInt64: @Sendable (PublishOutcome) -> Void] = [:], started: PrestartedRoom? = nil
    ) -> ActorRef<RoomMessage>? {
        let keep = started?.keep ?? RoomKeep()
        keep.seed(RoomHandoffSeed(snapshot: snapshot, presence: presence, members: members))
        keep.publishWaiters = waiters
        if let started { return started.ref }
        let ref = refs.withLock { startRoom(snapshot.topic, keep: keep, in: &$0) }
        for member in members.values.joined() { member.value.room = ref }
        return ref
    }

    /// Binary upgrade, before the pause: starts the actor of a staged room, to be seeded by ``adopt`` (its first
    /// message comes after that, once the loops run), so that the pause starts no actor and points no member at it.
    func prestart(_ topic: String) -> PrestartedRoom? {
        let keep = RoomKeep()
        return refs.withLock { startRoom(topic, keep: keep, in: &$0) }.map { ($0, keep) }
    }

    /// A room started by ``prestart(_:)`` that the pause did not bring (it stopped since staging): stopped again.
    func withdraw(_ topic: String) {
        refs.withLock { $0[topic] = nil }
        supervisor.terminateChild(topic)
    }

    /// The webhook dispatcher rooms report to, if any.
    var webhooks: WebhookDispatcher? { services.webhooks }

    /// The version of the chat handler code in use.
    var handlerVersion: String { services.handler.version }

    /// Number of rooms started so far.
    var roomCount: Int { refs.withLock { $0.count } }

    /// Every room's mailbox (for suspending them all around a handler upgrade).
    var allRooms: [ActorRef<RoomMessage>] { refs.withLock { Array($0.values) } }

    /// Binary upgrade: holds (or releases, then pending messages commit) every room's commits and the node's beats.
    func holdCommits(_ held: Bool) {
        services.commitsHeld.store(held, ordering: .releasing)
        services.cluster?.handingOver(held)  // a cluster node stays live while the new process starts
        if !held { for room in allRooms { room.send(.commitPending) } }
    }

    /// Whether every chat message handed to the history writer has been committed and reported back.
    var historyWriterIsIdle: Bool { services.historyWriter.isIdle && services.cluster?.storesIdle != false }
    var historyQueuedBatches: Int { services.historyWriter.queuedBatches }
    var clusterStatus: JSONValue? { services.cluster?.status }
    var cluster: ClusterBus? { services.cluster }
    var eventLoops: [EventLoop] { loops }

    /// Room restarts since start.
    var restartCount: Int { supervisor.restartCount }

    /// Test hook: the room of `topic` fails on its next message, as if its code had thrown.
    func injectFault(topic: String) {
        _ = refs.withLock { $0[topic] }?.injectFault()
    }
}
