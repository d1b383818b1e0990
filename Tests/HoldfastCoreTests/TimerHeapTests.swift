import Testing

@testable import HoldfastCore

@Suite struct TimerHeapTests {
    @Test func firesTimersInDeadlineOrderThenSchedulingOrder() {
        var heap = TimerHeap()
        var fired: [Int] = []
        for (deadline, label) in [(30, 3), (10, 1), (20, 2), (10, 11), (5, 0)] {
            heap.schedule(at: Int64(deadline)) { fired.append(label) }
        }
        for body in heap.popExpired(now: 25) { body() }
        #expect(fired == [0, 1, 11, 2])
        #expect(heap.nextDeadline() == 30)
    }

    @Test func skipsCancelledTimers() {
        var heap = TimerHeap()
        var fired: [Int] = []
        let first = heap.schedule(at: 1) { fired.append(1) }
        heap.schedule(at: 2) { fired.append(2) }
        heap.cancel(first)
        #expect(heap.nextDeadline() == 2)
        for body in heap.popExpired(now: 10) { body() }
        #expect(fired == [2])
        #expect(heap.isEmpty)
    }

    @Test func keepsHeapOrderUnderRandomSchedules() {
        var heap = TimerHeap()
        var generator = SystemRandomNumberGenerator()
        var deadlines: [Int64] = []
        var fired: [Int64] = []
        for _ in 0..<500 {
            let deadline = Int64.random(in: 0..<1000, using: &generator)
            deadlines.append(deadline)
            heap.schedule(at: deadline) { fired.append(deadline) }
        }
        for body in heap.popExpired(now: 2000) { body() }
        #expect(fired == deadlines.sorted())
    }
}
