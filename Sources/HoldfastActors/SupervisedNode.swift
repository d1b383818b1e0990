import HoldfastCore

/// What a supervisor can order a child to do: an actor or a nested supervisor.
///
/// Orders carry the incarnation the supervisor assigned; a child applies an order only if it is newer than the
/// last one it applied, so orders issued from different threads can arrive in any order and the newest wins.
protocol SupervisedNode: AnyObject, Sendable {
    /// Starts a fresh instance (an actor calls its factory; a supervisor restarts its whole subtree).
    func restart(incarnation: Int)
    /// Stops the current instance without a restart; messages keep queuing (the supervisor above gave up and
    /// its own supervisor decides what happens next).
    func takeDown(incarnation: Int)
    /// Ends the child for good; queued messages are dropped.
    func terminate()
}

extension ActorRef: SupervisedNode {
    func restart(incarnation: Int) {
        loop.execute { [self] in
            guard status != .terminated, incarnation > self.incarnation else { return }
            self.incarnation = incarnation
            behavior = nil  // the old instance goes before the new one starts
            stopRequested = false
            do {
                behavior = try factory()
            } catch {
                exit(.crashed(error))
                return
            }
            status = .running
            countRestart()
            unpark()
        }
    }

    func takeDown(incarnation: Int) {
        loop.execute { [self] in
            guard status != .terminated, incarnation > self.incarnation else { return }
            self.incarnation = incarnation
            behavior = nil
            stopRequested = false
            status = .down
        }
    }

    func terminate() {
        close()
        loop.execute { [self] in
            status = .terminated
            behavior = nil
            discardInHand()
        }
    }
}
