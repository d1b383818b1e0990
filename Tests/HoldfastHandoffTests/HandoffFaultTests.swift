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
                for action in HandoffFault.Action.allCases where !(side == .old && action == .hang) {
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
        #expect(throws: HandoffFaultError.unsupported("old:drain:hang")) {
            try HandoffFault.from(environment: allowed.merging([HandoffFault.variable: "old:drain:hang"]) { a, _ in a })
        }
    }
}
