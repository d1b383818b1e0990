import HoldfastHandoff
import Testing

/// The new process files room members by topic, loop and connection as their connections are staged, and points
/// them at their room once its actor is started (before the pause), so the pause only moves what changed.
@Suite struct StagedRoomMembersTests {
    final class Member: StagedRoomMember {
        let topic: String, loopIndex: Int, connectionID: UInt64
        var room: String?
        init(_ topic: String, loop: Int, id: UInt64) { (self.topic, loopIndex, connectionID) = (topic, loop, id) }
    }

    @Test func membersAreFiledByTopicLoopAndConnection() {
        var staged = StagedRoomMembers<Member>()
        let (a, b, c) = (Member("room:1", loop: 0, id: 1), Member("room:1", loop: 1, id: 2), Member("room:2", loop: 0, id: 1))
        staged.add([a, b, c])
        #expect(staged.byTopic["room:1"]?[0]?[1] === a)
        #expect(staged.byTopic["room:1"]?[1]?[2] === b)
        #expect(staged.byTopic["room:2"]?[0]?[1] === c)
        staged.remove([a])
        #expect(staged.byTopic["room:1"]?[0]?[1] == nil && staged.byTopic["room:1"]?[1]?[2] === b)
        staged.remove(nil as [Member]?)
        staged.add(nil as [Member]?)
        #expect(staged.byTopic.count == 2)
    }

    @Test func aStartedRoomIsPointedAtByItsMembersAndByThoseFiledLater() {
        var staged = StagedRoomMembers<Member>()
        let (early, other) = (Member("room:1", loop: 0, id: 1), Member("room:2", loop: 1, id: 2))
        staged.add([early, other])
        #expect(early.room == nil)
        staged.point("room:1", at: "mailbox 1")
        #expect(early.room == "mailbox 1" && other.room == nil, "only the started room's members")
        let late = Member("room:1", loop: 1, id: 3)  // a connection sent again in the pause
        staged.add([late])
        #expect(late.room == "mailbox 1")
        staged.point("room:1", at: nil)  // the room did not come in the pause
        #expect(early.room == nil && late.room == nil && staged.rooms["room:1"] == nil)
    }
}
