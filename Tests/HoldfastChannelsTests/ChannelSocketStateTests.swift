import HoldfastChannels
import HoldfastJSON
import Testing

private func message(_ joinRef: String?, _ ref: String?, _ topic: String, _ event: String, _ payload: JSONValue = .emptyObject) -> PhoenixMessage {
    PhoenixMessage(joinRef: joinRef, ref: ref, topic: topic, event: event, payload: payload)
}

private func reason(_ text: String) -> JSONValue { .object([JSONMember("reason", .string(text))]) }

private func close(_ joinRef: String?, _ topic: String) -> ChannelAction {
    .push(message(joinRef, joinRef, topic, "phx_close"))
}

/// A socket with `room:lobby` joined under join_ref "1".
private func joinedSocket(limits: ChannelSocketLimits = ChannelSocketLimits()) -> ChannelSocketState {
    var state = ChannelSocketState(version: .v2, limits: limits, now: 0)
    _ = state.receive(message("1", "1", "room:lobby", "phx_join"), now: 0)
    _ = state.completeJoin(topic: "room:lobby", joinRef: "1", ref: "1", result: .ok(.emptyObject))
    return state
}

@Suite struct ChannelSocketStateTests {
    @Test func repliesOkToHeartbeats() {
        var state = joinedSocket()
        #expect(
            state.receive(message(nil, "7", "phoenix", "heartbeat"), now: 5)
                == [.reply(joinRef: nil, ref: "7", topic: "phoenix", status: "ok", response: .emptyObject)])
    }

    @Test func joinsThroughTheApplication() {
        var state = ChannelSocketState(version: .v2, now: 0)
        let payload = JSONValue.object([JSONMember("token", .string("x"))])
        #expect(
            state.receive(message("1", "1", "room:lobby", "phx_join", payload), now: 0)
                == [.join(topic: "room:lobby", joinRef: "1", ref: "1", payload: payload)])
        #expect(state.joinRef(for: "room:lobby") == nil)
        #expect(
            state.completeJoin(topic: "room:lobby", joinRef: "1", ref: "1", result: .ok(.emptyObject))
                == [.reply(joinRef: "1", ref: "1", topic: "room:lobby", status: "ok", response: .emptyObject)])
        #expect(state.joinRef(for: "room:lobby") == "1")
        #expect(state.joinedTopics == [JoinedChannel(topic: "room:lobby", joinRef: "1", joinMessageRef: "1", status: .joined)])
    }

    @Test func forgetsRefusedJoins() {
        var state = ChannelSocketState(version: .v2, now: 0)
        _ = state.receive(message("1", "1", "room:vip", "phx_join"), now: 0)
        #expect(
            state.completeJoin(topic: "room:vip", joinRef: "1", ref: "1", result: .error(reason("unauthorized")))
                == [.reply(joinRef: "1", ref: "1", topic: "room:vip", status: "error", response: reason("unauthorized"))])
        #expect(state.channels.isEmpty)
    }

    @Test func closesTheOldChannelOnADuplicateJoin() {
        var state = joinedSocket()
        #expect(
            state.receive(message("3", "3", "room:lobby", "phx_join"), now: 1)
                == [
                    .leave(topic: "room:lobby", joinRef: "1"), close("1", "room:lobby"),
                    .join(topic: "room:lobby", joinRef: "3", ref: "3", payload: .emptyObject),
                ])
    }

    @Test func supersedesAPendingJoinAndUndoesItsLateCompletion() {
        var state = ChannelSocketState(version: .v2, now: 0)
        _ = state.receive(message("1", "1", "room:lobby", "phx_join"), now: 0)
        #expect(
            state.receive(message("2", "2", "room:lobby", "phx_join"), now: 0)
                == [close("1", "room:lobby"), .join(topic: "room:lobby", joinRef: "2", ref: "2", payload: .emptyObject)])
        #expect(
            state.completeJoin(topic: "room:lobby", joinRef: "1", ref: "1", result: .ok(.emptyObject))
                == [.leave(topic: "room:lobby", joinRef: "1")])
        #expect(state.completeJoin(topic: "room:lobby", joinRef: "1", ref: "1", result: .error(.emptyObject)) == [])
        #expect(state.completeJoin(topic: "room:lobby", joinRef: "2", ref: "2", result: .ok(.emptyObject)).count == 1)
        #expect(state.joinRef(for: "room:lobby") == "2")
    }

    @Test func repliesUnmatchedTopicWithoutCloseForTopicsNotJoined() {
        var state = joinedSocket()
        #expect(
            state.receive(message("9", "4", "room:other", "new_msg"), now: 1)
                == [.reply(joinRef: nil, ref: "4", topic: "room:other", status: "error", response: reason("unmatched topic"))])
    }

    @Test func repliesUnmatchedTopicWhileTheJoinIsPending() {
        var state = ChannelSocketState(version: .v2, now: 0)
        _ = state.receive(message("1", "1", "room:lobby", "phx_join"), now: 0)
        #expect(
            state.receive(message("1", "2", "room:lobby", "new_msg"), now: 0)
                == [.reply(joinRef: nil, ref: "2", topic: "room:lobby", status: "error", response: reason("unmatched topic"))])
    }

    @Test func leavesWithLeaveReplyAndClose() {
        var state = joinedSocket()
        #expect(
            state.receive(message("1", "5", "room:lobby", "phx_leave"), now: 1)
                == [
                    .leave(topic: "room:lobby", joinRef: "1"),
                    .reply(joinRef: "1", ref: "5", topic: "room:lobby", status: "ok", response: .emptyObject),
                    close("1", "room:lobby"),
                ])
        #expect(state.channels.isEmpty)
    }

    @Test func leavingAPendingJoinCancelsIt() {
        var state = ChannelSocketState(version: .v2, now: 0)
        _ = state.receive(message("1", "1", "room:lobby", "phx_join"), now: 0)
        #expect(
            state.receive(message("1", "2", "room:lobby", "phx_leave"), now: 0)
                == [
                    .reply(joinRef: "1", ref: "2", topic: "room:lobby", status: "ok", response: .emptyObject),
                    close("1", "room:lobby"),
                ])
        #expect(
            state.completeJoin(topic: "room:lobby", joinRef: "1", ref: "1", result: .ok(.emptyObject))
                == [.leave(topic: "room:lobby", joinRef: "1")])
    }

    @Test func leavingATopicNotJoinedRepliesOkOnly() {
        var state = ChannelSocketState(version: .v2, now: 0)
        #expect(
            state.receive(message("8", "9", "room:x", "phx_leave"), now: 0)
                == [.reply(joinRef: "8", ref: "9", topic: "room:x", status: "ok", response: .emptyObject)])
    }

    @Test func deliversEventsOnJoinedTopicsWithCurrentOrNullJoinRef() {
        var state = joinedSocket()
        #expect(
            state.receive(message("1", "6", "room:lobby", "new_msg", reason("x")), now: 1)
                == [.handleIn(topic: "room:lobby", event: "new_msg", payload: reason("x"), ref: "6", joinRef: "1")])
        #expect(
            state.receive(message(nil, "7", "room:lobby", "new_msg"), now: 1)
                == [.handleIn(topic: "room:lobby", event: "new_msg", payload: .emptyObject, ref: "7", joinRef: nil)])
    }

    @Test func ignoresMessagesWithAStaleJoinRef() {
        var state = joinedSocket()
        #expect(state.receive(message("0", "6", "room:lobby", "new_msg"), now: 1) == [])
        #expect(state.receive(message("0", "7", "room:lobby", "phx_leave"), now: 1) == [])
        #expect(state.joinRef(for: "room:lobby") == "1")
    }

    @Test func refusesJoinsPastTheTopicLimit() {
        var state = joinedSocket(limits: ChannelSocketLimits(maxTopics: 1))
        let actions = state.receive(message("2", "2", "room:two", "phx_join"), now: 1)
        #expect(actions.count == 2)
        #expect(actions.last == .reply(joinRef: "2", ref: "2", topic: "room:two", status: "error", response: reason("too many channels joined")))
        // Rejoining a joined topic replaces it, so it never counts against the limit.
        #expect(state.receive(message("3", "3", "room:lobby", "phx_join"), now: 1).last == .join(topic: "room:lobby", joinRef: "3", ref: "3", payload: .emptyObject))
    }

    @Test func refusesJoinsWithANonObjectPayload() {
        var state = ChannelSocketState(version: .v2, now: 0)
        #expect(
            state.receive(message("1", "1", "room:lobby", "phx_join", .array([])), now: 0)
                == [.reply(joinRef: "1", ref: "1", topic: "room:lobby", status: "error", response: reason(ChannelReason.invalidJoinPayload))])
        #expect(state.channels.isEmpty)
    }

    @Test func refusesOversizedFrames() {
        var state = joinedSocket(limits: ChannelSocketLimits(maxPayloadBytes: 100))
        let actions = state.receive(message("1", "6", "room:lobby", "new_msg"), frameSize: 101, now: 1)
        #expect(actions.last == .reply(joinRef: "1", ref: "6", topic: "room:lobby", status: "error", response: reason("payload too large")))
        #expect(state.receive(message("1", "7", "room:lobby", "new_msg"), frameSize: 100, now: 1).count == 1)
    }

    @Test func rateLimitsMessagesButNotHeartbeats() {
        var state = joinedSocket(limits: ChannelSocketLimits(maxMessagesPerWindow: 2, rateWindowMilliseconds: 1000))
        // The join counted once in the window starting at 0.
        #expect(state.receive(message("1", "2", "room:lobby", "a"), now: 10).count == 1)
        let limited = ChannelAction.reply(joinRef: "1", ref: "3", topic: "room:lobby", status: "error", response: reason("rate limited"))
        #expect(state.receive(message("1", "3", "room:lobby", "a"), now: 20) == [.log("socket rate limited"), limited])
        #expect(state.receive(message("1", "3", "room:lobby", "a"), now: 30) == [limited])
        #expect(state.receive(message(nil, "4", "phoenix", "heartbeat"), now: 40).first?.isOkReply == true)
        #expect(state.receive(message("1", "5", "room:lobby", "a"), now: 1000).count == 1)
    }

    @Test func closesTheSocketAfterHeartbeatSilence() {
        var state = ChannelSocketState(version: .v2, now: 0)
        #expect(state.checkHeartbeat(now: 59_999) == nil)
        #expect(state.checkHeartbeat(now: 60_000) == .closeSocket(reason: "heartbeat timeout"))
        _ = state.receive(message(nil, "1", "phoenix", "heartbeat"), now: 30_000)
        #expect(state.checkHeartbeat(now: 60_000) == nil)
        state.noteActivity(now: 70_000)
        #expect(state.checkHeartbeat(now: 129_999) == nil)
    }

    @Test func closesTheSocketOnUndecodableFrames() {
        var state = joinedSocket()
        let actions = state.receiveUndecodable(.wrongShape("expected 5 elements, got 4"), now: 3)
        #expect(actions.last == .closeSocket(reason: "invalid message"))
        #expect(actions.count == 2)
        #expect(state.lastReceivedAt == 3)
    }

    @Test func sendsCloseOrErrorWhenTheServerDropsAChannel() {
        var state = joinedSocket()
        #expect(state.serverClosedChannel(topic: "room:lobby", error: false) == [close("1", "room:lobby")])
        #expect(state.serverClosedChannel(topic: "room:lobby", error: false) == [])
        state = joinedSocket()
        #expect(
            state.serverClosedChannel(topic: "room:lobby", error: true)
                == [.push(message("1", "1", "room:lobby", "phx_error", reason("channel_crash")))])
    }

    @Test func refusesBinaryPushes() {
        var state = joinedSocket()
        let push = BinaryPush(joinRef: "1", ref: "2", topic: "room:lobby", event: "upload", payload: [1])
        #expect(
            state.receiveBinary(push, frameSize: 20, now: 1)
                == [
                    .log("refused binary push \"upload\" on \"room:lobby\""),
                    .reply(
                        joinRef: "1", ref: "2", topic: "room:lobby", status: "error",
                        response: reason(ChannelReason.binaryUnsupported)),
                ])
        var other = push
        other.topic = "room:x"
        #expect(
            state.receiveBinary(other, frameSize: 20, now: 1)
                == [.reply(joinRef: nil, ref: "2", topic: "room:x", status: "error", response: reason("unmatched topic"))])
        var withoutJoinRef = push
        withoutJoinRef.joinRef = nil
        #expect(state.receiveBinary(withoutJoinRef, frameSize: 20, now: 1).last?.isErrorReply == true)
    }

    @Test func ignoresBinaryPushesOfAnEarlierJoin() {
        var state = joinedSocket()
        let stale = BinaryPush(joinRef: "0", ref: "2", topic: "room:lobby", event: "upload", payload: [1])
        #expect(state.receiveBinary(stale, frameSize: 20, now: 1) == [])
        #expect(state.lastReceivedAt == 1)
    }

    @Test func binaryPushesCountAgainstTheSizeAndRateLimits() {
        var state = joinedSocket(limits: ChannelSocketLimits(maxPayloadBytes: 100, maxMessagesPerWindow: 2))
        let push = BinaryPush(joinRef: "1", ref: "2", topic: "room:lobby", event: "upload", payload: [1])
        #expect(
            state.receiveBinary(push, frameSize: 101, now: 1)
                == [
                    .log("refused 101-byte message on \"room:lobby\""),
                    .reply(
                        joinRef: "1", ref: "2", topic: "room:lobby", status: "error",
                        response: reason(ChannelReason.payloadTooLarge)),
                ])
        // The join counted once in the window starting at 0: one more push fits, the next is refused.
        #expect(state.receiveBinary(push, frameSize: 100, now: 2).last?.isErrorReply == true)
        let limited = ChannelAction.reply(
            joinRef: "1", ref: "2", topic: "room:lobby", status: "error", response: reason(ChannelReason.rateLimited))
        #expect(state.receiveBinary(push, frameSize: 20, now: 3) == [.log("socket rate limited"), limited])
        #expect(state.receiveBinary(push, frameSize: 20, now: 4) == [limited])
        var stale = push
        stale.joinRef = "0"
        #expect(
            state.receiveBinary(stale, frameSize: 20, now: 5)
                == [
                    .reply(
                        joinRef: "0", ref: "2", topic: "room:lobby", status: "error",
                        response: reason(ChannelReason.rateLimited))
                ],
            "limits come before the join_ref check")
    }

    @Test func supportsV1ClientsWithoutJoinRefs() {
        var state = ChannelSocketState(version: .v1, now: 0)
        _ = state.receive(message(nil, "1", "room:lobby", "phx_join"), now: 0)
        _ = state.completeJoin(topic: "room:lobby", joinRef: nil, ref: "1", result: .ok(.emptyObject))
        #expect(state.joinRef(for: "room:lobby") == "1")
        #expect(state.receive(message(nil, "2", "room:lobby", "new_msg"), now: 0).count == 1)
        #expect(
            state.receive(message(nil, "3", "room:lobby", "phx_leave"), now: 0)
                == [
                    .leave(topic: "room:lobby", joinRef: nil),
                    .reply(joinRef: "1", ref: "3", topic: "room:lobby", status: "ok", response: .emptyObject),
                    close(nil, "room:lobby"),
                ])
    }
}

extension ChannelAction {
    fileprivate var isOkReply: Bool {
        if case .reply(_, _, _, "ok", _) = self { return true }
        return false
    }

    fileprivate var isErrorReply: Bool {
        if case .reply(_, _, _, "error", _) = self { return true }
        return false
    }
}
