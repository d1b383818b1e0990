/// Splits `total` items into `parts` contiguous runs whose sizes differ by at most one (the first
/// `total % parts` runs get the extra item): how connections are spread over worker processes and loops.
struct EvenSplit {
    let total: Int
    let parts: Int

    /// The items of part `index`.
    func range(_ index: Int) -> Range<Int> {
        let base = total / parts
        let extra = total % parts
        let first = index * base + min(index, extra)
        return first..<(first + base + (index < extra ? 1 : 0))
    }
}
