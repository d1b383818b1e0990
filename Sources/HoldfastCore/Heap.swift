import CHoldfast

/// The process heap.
public enum Heap {
    /// Gives freed heap pages back to the kernel. glibc keeps freed memory mapped for reuse; after a burst of
    /// large transient buffers that memory would otherwise count against every idle connection.
    public static func trim() {
        _ = holdfast_malloc_trim()
    }
}
