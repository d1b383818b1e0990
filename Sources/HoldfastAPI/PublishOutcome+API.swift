import HoldfastHTTP
public import HoldfastRooms

extension PublishOutcome {
    /// What the server API answers for a room's outcome: the message's id, 422 when the chat handler refused it,
    /// 503 when it could not be stored.
    public var apiResult: Result<Int64, APIError> {
        switch self {
        case .stored(let id): .success(id)
        case .refused(let reason): .failure(APIError(.unprocessableContent, "refused", reason))
        case .failed: .failure(APIError(.serviceUnavailable, "not_stored", "message not stored, try again"))
        }
    }
}
