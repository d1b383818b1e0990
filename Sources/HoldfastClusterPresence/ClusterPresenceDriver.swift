import HoldfastCore
public import HoldfastJSON
public import HoldfastRedis

/// The driver of one room's ``ClusterPresence`` over a ``RedisClient``: performs its actions, feeds replies back
/// and runs its coalescing timer. The bus subscription belongs to the caller, which hands this room's presence
/// messages to ``busMessage(_:)`` (or ``receive(_:)``).
///
/// Thread ownership: the client's loop (the room's loop); callbacks run there.
public final class ClusterPresenceDriver: @unchecked Sendable {
    /// The command connection.
    public let client: RedisClient
    // Loop-thread state.
    /// The room's view.
    public private(set) var state: ClusterPresence
    private var wake: TimerID?

    /// Push `presence_diff` with this payload to the room's local members.
    public var onPushDiff: ((JSONValue) -> Void)?
    /// Push `presence_state` with this payload to the room's local members.
    public var onPushState: ((JSONValue) -> Void)?
    /// A Redis failure or a malformed bus message, worth a log line.
    public var onProblem: ((String) -> Void)?

    /// A driver for `state` (new, or imported from a binary upgrade).
    public init(state: ClusterPresence, client: RedisClient) {
        self.state = state
        self.client = client
    }

    /// The merged `presence_state` payload.
    public var statePayload: JSONValue { state.statePayload() }

    /// The room took a local diff (see ``ClusterPresence/localDiff(_:now:)``).
    public func localDiff(_ diff: JSONValue) { perform(state.localDiff(diff, now: now)) }

    /// A payload from the room's bus that may be a presence message; malformed ones are reported and dropped.
    public func busMessage(_ bytes: [UInt8]) {
        do {
            receive(try ClusterPresenceMessage(decoding: bytes))
        } catch {
            onProblem?("\(state.room): \(error)")
        }
    }

    /// A decoded presence message from the room's bus.
    public func receive(_ message: ClusterPresenceMessage) { perform(state.receive(message, now: now)) }

    /// The room's first local member is about to join: `completion` runs once the view holds the other nodes'
    /// entries (or the read failed), at once when it already does.
    public func seed(_ completion: @escaping () -> Void) { perform(state.seed(now: now), completion: completion) }

    /// The room's bus subscription was confirmed.
    public func subscribed() { perform(state.subscribed(now: now)) }

    /// The command link is ready again (or the node's token was gone): rewrite and re-read. `completion` runs once
    /// the rewrite answered (or at once when there is nothing to rewrite).
    public func linkReady(_ completion: (() -> Void)? = nil) {
        perform(state.linkReady(now: now), completion: completion)
    }

    /// Remote changes an imported view carried, if any, go out as one diff (after the new process's subscription
    /// was confirmed).
    public func flushPending() {
        if state.hasPendingChanges { perform(state.flush(now: now)) }
    }

    /// A node is gone for good (``NodeRegistry/onNodeGone``).
    public func dropNode(_ name: String) { perform(state.dropNode(name, now: now)) }

    /// Stops the timer; the room is going away.
    public func close() {
        if let wake { client.loop.cancel(wake) }
        wake = nil
    }

    private var now: Int64 { MonotonicClock.nowMilliseconds() }

    private func perform(_ actions: [ClusterPresenceAction], completion: (() -> Void)? = nil) {
        var completion = completion
        for action in actions {
            switch action {
            case .write(let commands):
                client.pipeline(commands) { [self] results in
                    for case .failure(let error) in results {
                        onProblem?("\(state.room): presence write failed: \(error)")
                        break
                    }
                }
            case .read:
                let done = completion
                completion = nil
                client.pipeline([["HGETALL", RedisArgument(state.hashKey)], ["ZRANGE", .init(state.nodesKey), 0, -1]]) {
                    [self] results in
                    roomRead(results.count == 2 ? results[0].flatMap { hash in results[1].map { (hash, $0) } } : nil)
                    done?()
                }
            case .rewrite(let entries):
                var arguments = [RedisArgument(state.channel), RedisArgument(state.node), RedisArgument(state.room)]
                for entry in entries {
                    arguments += [RedisArgument(entry.field), RedisArgument(bytes: entry.encodedValue)]
                }
                let done = completion
                completion = nil
                client.run(
                    ClusterScripts.rewrite, keys: [state.hashKey, state.roomsKey, state.nodesKey], arguments: arguments
                ) { [self] result in
                    let parts = (try? result.get())?.array
                    roomRead(result.map { _ in (parts?.first ?? .null, parts?.last ?? .null) })
                    done?()
                }
            case .wakeAt(let due):
                if let wake { client.loop.cancel(wake) }
                wake = client.loop.schedule(afterMilliseconds: max(0, due - now)) { [weak self] in
                    guard let self else { return }
                    wake = nil
                    perform(state.flush(now: now))
                }
            case .pushDiff(let payload):
                onPushDiff?(payload)
            case .pushState(let payload):
                onPushState?(payload)
            }
        }
        completion?()
    }

    /// Feeds a read's replies (the hash, the live nodes) back, or its failure.
    private func roomRead(_ result: Result<(RedisReply, RedisReply), RedisError>?) {
        guard case .success(let (hash, nodes))? = result, let flat = hash.array, flat.count % 2 == 0,
            let names = nodes.array
        else {
            onProblem?("\(state.room): presence read failed: \(String(describing: result))")
            return perform(state.roomReadFailed(now: now))
        }
        var fields: [(field: String, value: [UInt8])] = []
        fields.reserveCapacity(flat.count / 2)
        for index in stride(from: 0, to: flat.count, by: 2) {
            guard let field = flat[index].string, let value = flat[index + 1].bytes else { continue }
            fields.append((field, value))
        }
        perform(state.roomRead(fields: fields, liveNodes: Set(names.compactMap(\.string)), now: now))
    }
}
