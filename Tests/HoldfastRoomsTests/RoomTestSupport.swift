import HoldfastChannels
import HoldfastJSON
import HoldfastPresence
import HoldfastRooms

/// A chat handler with rules a test can read at a glance: users named `mallory` are refused, bodies containing
/// `spam` are rejected, and every payload names the handler version that made it.
struct ScriptedHandler: ChatHandler {
    var version = "1.0.0"

    func authorizeJoin(topic: String, user: String, payload: JSONValue, now: Int64) -> JoinDecision {
        guard user != "mallory" else { return .deny(reason: "unauthorized") }
        let device = payload["device"] ?? .string("web")
        return .allow(presenceMeta: .object([JSONMember("device", device), JSONMember("online_at", .integer(now))]))
    }

    func validateMessage(topic: String, user: String, body: String) -> String? {
        body.contains("spam") ? "message rejected" : nil
    }

    func messagePayload(
        topic: String, id: Int64, user: String, body: String, timestamp: Int64, clientID: JSONValue?, replay: Bool
    ) -> JSONValue {
        .object([
            JSONMember("id", .integer(id)), JSONMember("user", .string(user)), JSONMember("body", .string(body)),
            JSONMember("ts", .integer(timestamp)), JSONMember("handler", .string(version)),
            JSONMember("replay", .bool(replay)),
        ])
    }
}

/// A clock the test moves by hand.
struct FakeClock {
    var monotonic: Int64 = 1_000
    var wall: Int64 = 1_700_000_000_000

    var now: RoomInstant { RoomInstant(monotonic: monotonic, wall: wall) }

    mutating func advance(_ milliseconds: Int64) {
        monotonic += milliseconds
        wall += milliseconds
    }
}

/// A room under test with its clock.
struct RoomHarness {
    var room: RoomState
    var clock = FakeClock()

    init(
        window: Int64 = 20, lastID: Int64 = 0, handler: any ChatHandler = ScriptedHandler(),
        durableBatches: DurableBatchJoining = .off
    ) {
        room = RoomState(
            topic: "room:lobby",
            configuration: RoomConfiguration(
                presenceRefPrefix: "P", presenceWindowMilliseconds: window, historyLimit: 50,
                durableBatches: durableBatches),
            handler: handler, lastID: lastID)
    }

    mutating func handle(_ event: RoomEvent) -> [RoomAction] { room.handle(event, now: clock.now) }

    /// Joins and lets the presence window pass, so the member is settled and its state delivered.
    @discardableResult
    mutating func settle(_ member: Member, payload: JSONValue = .object([])) -> [RoomAction] {
        var actions = handle(.join(member, ref: "j\(member.connectionID)", payload: payload))
        clock.advance(100)
        actions += handle(.timer)
        return actions
    }
}

func member(_ id: UInt64, _ user: String, version: PhoenixSerializerVersion = .v2) -> Member {
    Member(connectionID: id, user: user, joinRef: "jr\(id)", version: version)
}

extension [RoomAction] {
    var broadcasts: [RoomBroadcast] {
        compactMap { if case .broadcast(let broadcast) = $0 { broadcast } else { nil } }
    }

    var presenceStates: [(members: [Member], payload: JSONValue)] {
        compactMap { action in
            guard case .sendPresenceState(let members, let payload) = action else { return nil }
            return (members, (try? JSON.parse(payload.bytes)) ?? .null)
        }
    }

    var wakeTimes: [Int64] { compactMap { if case .wakeAt(let time) = $0 { time } else { nil } } }

    var replies: [(member: Member, status: String, response: JSONValue)] {
        compactMap { action in
            guard case .reply(let member, _, let status, let response) = action else { return nil }
            return (member, status, response)
        }
    }

    var joinResults: [(member: Member, result: JoinResult, extra: [PhoenixMessage])] {
        compactMap { action in
            guard case .finishJoin(let member, _, let result, let extra) = action else { return nil }
            return (member, result, extra)
        }
    }

    var persisted: [(batch: Int, messages: [ChatMessage])] {
        compactMap { if case .persist(let batch, let messages) = $0 { (batch, messages) } else { nil } }
    }
}

extension RoomBroadcast {
    /// The v2 text parsed back: `[join_ref, ref, topic, event, payload]`.
    var v2Payload: JSONValue? {
        guard let v2, case .array(let fields)? = try? JSON.parse(v2), fields.count == 5 else { return nil }
        return fields[4]
    }
}

/// `value` with every object's members sorted by key: presence payloads compare as JSON objects, whose member
/// order means nothing.
func canonical(_ value: JSONValue) -> JSONValue {
    switch value {
    case .object(let members):
        .object(members.map { JSONMember($0.key, canonical($0.value)) }.sorted { $0.key < $1.key })
    case .array(let items):
        .array(items.map(canonical))
    default:
        value
    }
}
