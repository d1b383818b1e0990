import Synchronization

/// Restart decisions: made under the lock, carried out after it is released.
extension Supervisor {
    enum Order {
        case restart(any SupervisedNode, incarnation: Int)
        case takeDown(any SupervisedNode, incarnation: Int)
        case terminate(any SupervisedNode)
        case escalate(Escalation, incarnation: Int)

        func perform(by supervisor: Supervisor) {
            switch self {
            case .restart(let node, let incarnation): node.restart(incarnation: incarnation)
            case .takeDown(let node, let incarnation): node.takeDown(incarnation: incarnation)
            case .terminate(let node): node.terminate()
            case .escalate(let escalation, let incarnation): supervisor.escalate(escalation, incarnation: incarnation)
            }
        }
    }

    /// A child (actor or nested supervisor) exited; called on the thread that saw the exit.
    func childExited(id: String, incarnation: Int, reason: ExitReason) {
        let now = self.now
        let orders = state.withLock { state -> [Order] in
            guard state.status == .running,
                let index = state.children.firstIndex(where: { $0.id == id }),
                state.children[index].incarnation == incarnation
            else { return [] }  // stale: already restarted, taken down or removed
            let shouldRestart =
                switch state.children[index].restart {
                case .permanent: true
                case .transient: reason.isAbnormal
                case .temporary: false
                }
            guard shouldRestart else {
                return [.terminate(state.children.remove(at: index).node)]
            }
            state.restartTimes.append(now)
            state.restartTimes.removeAll { now - $0 >= withinMilliseconds }
            if state.restartTimes.count > maxRestarts {
                return giveUp(&state, child: id, reason: reason)
            }
            state.restartCount += 1
            let targets: Range<Int> =
                switch strategy {
                case .oneForOne: index..<(index + 1)
                case .oneForAll: 0..<state.children.count
                case .restForOne: index..<state.children.count
                }
            return restart(&state, targets: targets, crashed: index)
        }
        for order in orders { order.perform(by: self) }
    }

    /// Restarts `targets`; siblings of the crashed child that are `.temporary` are removed instead, as in OTP.
    private func restart(_ state: inout State, targets: Range<Int>, crashed: Int) -> [Order] {
        var orders: [Order] = []
        var kept: [Record] = []
        for (index, var record) in state.children.enumerated() {
            guard targets.contains(index) else {
                kept.append(record)
                continue
            }
            if index != crashed, record.restart == .temporary {
                orders.append(.terminate(record.node))
                continue
            }
            record.incarnation += 1
            record.restarts += 1
            orders.append(.restart(record.node, incarnation: record.incarnation))
            kept.append(record)
        }
        state.children = kept
        return orders
    }

    /// Too many restarts: take the children down and exit towards the parent, or, at the root, terminate them
    /// and report the escalation.
    private func giveUp(_ state: inout State, child: String, reason: ExitReason) -> [Order] {
        let escalation = Escalation(
            supervisor: name, child: child, reason: reason.description, restartsInPeriod: state.restartTimes.count)
        var orders: [Order] = []
        if parent != nil {
            state.status = .down
            for index in state.children.indices {
                state.children[index].incarnation += 1
                orders.append(.takeDown(state.children[index].node, incarnation: state.children[index].incarnation))
            }
        } else {
            state.status = .terminated
            for record in state.children.reversed() { orders.append(.terminate(record.node)) }
            state.children = []
        }
        orders.append(.escalate(escalation, incarnation: state.incarnation))
        return orders
    }
}

/// A nested supervisor, as its parent sees it.
extension Supervisor: SupervisedNode {
    /// Restarts the whole subtree with a clean intensity history; temporary children are removed.
    func restart(incarnation: Int) {
        let orders = state.withLock { state -> [Order] in
            guard state.status != .terminated, incarnation > state.incarnation else { return [] }
            state.incarnation = incarnation
            state.status = .running
            state.restartTimes = []
            let everyone = state.children.indices
            return restart(&state, targets: everyone, crashed: -1)
        }
        for order in orders { order.perform(by: self) }
    }

    func takeDown(incarnation: Int) {
        let orders = state.withLock { state -> [Order] in
            guard state.status != .terminated, incarnation > state.incarnation else { return [] }
            state.incarnation = incarnation
            state.status = .down
            return state.children.indices.map { index in
                state.children[index].incarnation += 1
                return .takeDown(state.children[index].node, incarnation: state.children[index].incarnation)
            }
        }
        for order in orders { order.perform(by: self) }
    }

    func terminate() {
        let nodes = state.withLock { state -> [any SupervisedNode] in
            state.status = .terminated
            defer { state.children = [] }
            return state.children.reversed().map(\.node)
        }
        for node in nodes { node.terminate() }
    }
}
