import HoldfastHandoff
import Testing

@Suite struct HandoffFaultTests {
    private let allowed = [HandoffFault.allowVariable: "1"]

    @Test func noVariableMeansNoFault() throws {
        #expect(try HandoffFault.from(environment: [:]) == nil)
        #expect(try HandoffFault.from(environment: [HandoffFault.variable: ""]) == nil)
    }

    @Test func aFaultIsRefusedWithoutTheAllowVariable() {
        #expect(throws: HandoffFaultError.notAllowed("new:ready:exit9")) {
            try HandoffFault.from(environment: [HandoffFault.variable: "new:ready:exit9"])
        }
        #expect(throws: HandoffFaultError.notAllowed("new:ready:exit9")) {
            try HandoffFault.from(environment: [
                HandoffFault.variable: "new:ready:exit9", HandoffFault.allowVariable: "yes",
            ])
        }
    }

    @Test func everyStepOfEachSideParses() throws {
        for (side, steps) in [(HandoffFault.Side.old, HandoffFault.oldSteps), (.new, HandoffFault.newSteps)] {
            for step in steps {
                for action in HandoffFault.Action.allCases {
                    let text = "\(side.rawValue):\(step):\(action.rawValue)"
                    let fault = try HandoffFault.from(
                        environment: allowed.merging([HandoffFault.variable: text]) { a, _ in a })
                    #expect(fault == HandoffFault(side: side, step: step, action: action))
                    #expect(fault?.description == text)
                    #expect(fault?.fires(on: side, at: step) == true)
                    #expect(fault?.fires(on: side == .old ? .new : .old, at: step) == false)
                }
            }
        }
    }

    @Test func malformedFaultsAreRefusedWithWhatIsExpected() {
        for text in ["new:ready", "middle:ready:exit9", "new:ready:explode", "new:ready:exit9:now"] {
            #expect(throws: HandoffFaultError.malformed(text)) {
                try HandoffFault.from(environment: allowed.merging([HandoffFault.variable: text]) { a, _ in a })
            }
        }
        #expect(throws: HandoffFaultError.unknownStep("old:rebuild:exit9", known: HandoffFault.oldSteps)) {
            try HandoffFault.from(
                environment: allowed.merging([HandoffFault.variable: "old:rebuild:exit9"]) { a, _ in a })
        }
    }

    @Test func anOccurrenceNamesWhichTimeTheStepIsReached() throws {
        let fault = try HandoffFault.from(
            environment: allowed.merging([HandoffFault.variable: "old:send-batch@3:hang"]) { a, _ in a })
        #expect(fault == HandoffFault(side: .old, step: "send-batch", occurrence: 3, action: .hang))
        #expect(fault?.description == "old:send-batch@3:hang")
        #expect(fault?.fires(on: .old, at: "send-batch", occurrence: 2) == false)
        #expect(fault?.fires(on: .old, at: "send-batch", occurrence: 3) == true)
        #expect(fault?.fires(on: .old, at: "send-batch") == false)
        for text in ["old:send-batch@0:hang", "old:send-batch@:hang", "old:send-batch@+2:hang", "old:send@1@2:hang"] {
            #expect(throws: HandoffFaultError.malformed(text)) {
                try HandoffFault.from(environment: allowed.merging([HandoffFault.variable: text]) { a, _ in a })
            }
        }
        #expect(throws: HandoffFaultError.unknownStep("new:send-batch@2:garbage", known: HandoffFault.newSteps)) {
            try HandoffFault.from(
                environment: allowed.merging([HandoffFault.variable: "new:send-batch@2:garbage"]) { a, _ in a })
        }
    }
}
