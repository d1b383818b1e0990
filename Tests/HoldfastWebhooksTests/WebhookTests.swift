import Glibc
import HoldfastJSON
import HoldfastRooms
import HoldfastWebhooks
import Testing

struct WebhookTests {
    @Test func anEditOrADeleteSaysWhichAndNamesTheMessageItChanges() {
        let message = WebhookEvent(
            message: ChatMessage(id: 4, user: "u", body: "hi", timestamp: 1, clientID: nil), topic: "room:a")
        #expect(message.extra.map(\.key) == ["id", "body"])
        let edit = WebhookEvent(
            message: ChatMessage(id: 5, user: "u", body: "hey", timestamp: 2, clientID: nil, kind: .edit, target: 4),
            topic: "room:a")
        #expect(edit.name == "client_message")
        #expect(edit.extra == [
            JSONMember("id", .integer(5)), JSONMember("body", .string("hey")), JSONMember("kind", .string("edit")),
            JSONMember("target", .integer(4)),
        ])
        let delete = WebhookEvent(
            message: ChatMessage(id: 6, user: "u", body: "", timestamp: 3, clientID: nil, kind: .delete, target: 4),
            topic: "room:a")
        #expect(delete.extra.suffix(2) == [JSONMember("kind", .string("delete")), JSONMember("target", .integer(4))])
    }

    @Test func batchesKeepRecordingOrderAndCarryTimes() throws {
        var batcher = WebhookBatcher()
        #expect(batcher.takeBatch(nowMilliseconds: 1) == nil)
        batcher.add(WebhookEvent(.occupied, topic: "room:a", timeMilliseconds: 10))
        batcher.add(WebhookEvent(.memberAdded(user: "u"), topic: "room:a", timeMilliseconds: 11))
        let batch = batcher.takeBatch(nowMilliseconds: 99)
        let body = try JSON.parse(try #require(batch))
        #expect(body["time_ms"]?.integerValue == 99)
        guard case .array(let events) = body["events"] else {
            Issue.record("no events")
            return
        }
        #expect(events.map { $0["name"]?.stringValue } == ["room_occupied", "member_added"])
        #expect(events[1]["user_id"]?.stringValue == "u" && events[1]["time_ms"]?.integerValue == 11)
        #expect(batcher.isEmpty)
    }

    @Test func theSignatureIsHMACSHA256OverTimestampDotBody() {
        // echo -n '1700000000.{}' | openssl dgst -sha256 -hmac 'secret'
        let signer = WebhookSigner(secret: "secret")
        #expect(
            signer.signature(body: Array("{}".utf8), timestamp: 1_700_000_000)
                == "t=1700000000,v1=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163")
        #expect(
            signer.signature(body: Array("a".utf8), timestamp: 1)
                != signer.signature(body: Array("a".utf8), timestamp: 2))
    }

    func temporaryPath() -> String {
        var template = Array("/tmp/holdfast-queue-XXXXXX".utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        return directory + "/q.queue"
    }

    @Test func theQueueSurvivesReopeningAndDropsOnlyDeliveredBatches() throws {
        let path = temporaryPath()
        do {
            let queue = try WebhookQueue(path: path, maxBytes: 1 << 20)
            for index in 0..<5 { try queue.append(Array("batch-\(index)".utf8)) }
            queue.removeFirst()
            queue.removeFirst()
        }
        let reopened = try WebhookQueue(path: path, maxBytes: 1 << 20)
        #expect(reopened.count == 3)
        #expect(reopened.peek == Array("batch-2".utf8))
        reopened.removeFirst()
        reopened.removeFirst()
        reopened.removeFirst()
        #expect(reopened.count == 0 && reopened.peek == nil)
        let empty = try WebhookQueue(path: path, maxBytes: 1 << 20)
        #expect(empty.count == 0)
    }

    @Test func theQueueIsBoundedAndCutsATornRecord() throws {
        let path = temporaryPath()
        do {
            let queue = try WebhookQueue(path: path, maxBytes: 64)
            for index in 0..<10 { try queue.append(Array("batch-number-\(index)".utf8)) }
            #expect(queue.pendingBytes <= 64 && queue.dropped > 0)
            #expect(queue.peek != Array("batch-number-0".utf8))
        }
        // A crash in the middle of an append leaves a partial record at the end.
        let fd = open(path, O_WRONLY | O_APPEND)
        _ = [UInt8](arrayLiteral: 200, 0, 0, 0, 1, 2).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let reopened = try WebhookQueue(path: path, maxBytes: 64)
        var last: [UInt8]?
        while let body = reopened.peek {
            last = body
            reopened.removeFirst()
        }
        #expect(last == Array("batch-number-9".utf8))
    }

    @Test func targetsNeedHTTPWithANumericHost() {
        #expect(WebhookTarget(url: "http://127.0.0.1:8080/hooks")?.path == "/hooks")
        #expect(WebhookTarget(url: "http://localhost:9/")?.hostHeader == "localhost:9")
        #expect(WebhookTarget(url: "https://example.com/") == nil)
    }
}
