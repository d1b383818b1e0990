import HoldfastBytes
import HoldfastHandoff
import Testing

/// Which optional records two builds use: only those the old process offered its own child and the new one
/// accepted.
@Suite struct HandoffFeaturesTests {
    @Test func theOfferNamesTheOfferingProcessAndOnlyItsChildTakesIt() {
        let entry = HandoffFeatures.offer(from: 4321)
        #expect(entry == "HOLDFAST_HANDOFF_FEATURES=4321:\(HandoffFeatures.supported.rawValue)")
        let value = String(entry.split(separator: "=", maxSplits: 1)[1])
        let environment = [HandoffFeatures.offerVariable: value]
        #expect(HandoffFeatures.offered(in: environment, parent: 4321) == .supported)
        // Passed on unread by a build that does not know it: the grandchild's parent is another process.
        #expect(HandoffFeatures.offered(in: environment, parent: 999).isEmpty)
        #expect(HandoffFeatures.offered(in: [:], parent: 4321).isEmpty)
    }

    @Test(arguments: ["", "4321", "4321:", ":1", "4321:x", "4321:1:2", "x:1"])
    func anUnreadableOfferOffersNothing(value: String) {
        #expect(HandoffFeatures.offered(in: [HandoffFeatures.offerVariable: value], parent: 4321).isEmpty)
    }

    @Test func featuresThisBinaryDoesNotKnowAreNotTaken() {
        let offered = HandoffFeatures.offered(in: [HandoffFeatures.offerVariable: "7:\(UInt64.max)"], parent: 7)
        #expect(offered == .supported)
    }

    @Test func readyCarriesAcceptedFeaturesOnlyWhenThereAreAny() throws {
        let plain = HandoffControl.ready(pid: 4321, version: "1.2.3")
        let accepting = HandoffControl.ready(pid: 4321, version: "1.2.3", features: .stagedRoomValues)
        // Without features READY keeps the bytes every build reads; with them one number follows.
        #expect(accepting.encode() == plain.encode() + [0x01])
        #expect(try HandoffControl(decoding: plain.encode()) == plain)
        #expect(try HandoffControl(decoding: accepting.encode()) == accepting)
    }

    @Test func aWithheldFeatureIsNeitherOfferedNorAcceptedAndTheOfferNamesWhatIsOffered() {
        let withheld = [HandoffFeatures.withheldVariable: "\(HandoffFeatures.stagedConnectionOutput.rawValue)"]
        #expect(HandoffFeatures.own(in: withheld) == [.stagedRoomValues])
        #expect(HandoffFeatures.own(in: [:]) == .supported)
        #expect(HandoffFeatures.own(in: [HandoffFeatures.withheldVariable: "x"]) == .supported)
        var environment = withheld
        environment[HandoffFeatures.offerVariable] = "7:\(HandoffFeatures.supported.rawValue)"
        #expect(HandoffFeatures.offered(in: environment, parent: 7) == [.stagedRoomValues])
        #expect(HandoffFeatures.offer(from: 7, [.stagedRoomValues]) == "HOLDFAST_HANDOFF_FEATURES=7:1")
        #expect(HandoffFeatures.supported == [.stagedRoomValues, .stagedConnectionOutput, .stagedConnectionProgress])
        // Progress records alone withheld: output records stay.
        let noProgress = [HandoffFeatures.withheldVariable: "\(HandoffFeatures.stagedConnectionProgress.rawValue)"]
        #expect(HandoffFeatures.own(in: noProgress) == [.stagedRoomValues, .stagedConnectionOutput])
    }
}
