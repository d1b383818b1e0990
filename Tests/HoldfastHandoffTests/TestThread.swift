import Glibc

/// A minimal joinable thread for tests (the receiving side of a large stream).
final class TestThread: @unchecked Sendable {
    private let body: () -> Void
    private var handle = pthread_t()

    init(_ body: @escaping () -> Void) { self.body = body }

    func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&handle, nil, { raw in
            guard let raw else { return nil }
            let thread = Unmanaged<TestThread>.fromOpaque(raw).takeRetainedValue()
            thread.body()
            return nil
        }, context)
    }

    func join() { pthread_join(handle, nil) }
}
