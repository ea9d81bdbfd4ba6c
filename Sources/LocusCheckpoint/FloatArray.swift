/// A new `[Float]` of `count` elements filled by `fill`, without zeroing it first (for a 100 MB
/// embedding, zeroing would touch every page once more).
func makeFloats(
    count: Int, _ fill: (UnsafeMutableBufferPointer<Float>) throws(CheckpointError) -> Void
) throws(CheckpointError) -> [Float] {
    var failure: CheckpointError?
    let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialised in
        do throws(CheckpointError) {
            try fill(UnsafeMutableBufferPointer(rebasing: buffer[0..<count]))
            initialised = count
        } catch {
            failure = error
            initialised = 0
        }
    }
    if let failure { throw failure }
    return values
}
