public import HoldfastCore

// Transitional: the flat names of the sections' settings, so that call sites can move to the sections in a
// separate, mechanical commit. Removed by that commit.
extension Configuration {
    public var listen: SocketAddress {
        get { server.listen }
        set { server.listen = newValue }
    }
    public var eventLoops: Int {
        get { server.eventLoops }
        set { server.eventLoops = newValue }
    }
    public var maxConnections: Int {
        get { server.maxConnections }
        set { server.maxConnections = newValue }
    }
    public var socketSendBufferBytes: Int {
        get { server.socketSendBufferBytes }
        set { server.socketSendBufferBytes = newValue }
    }
    public var handshakeTimeoutMilliseconds: Int64 {
        get { server.handshakeTimeoutMilliseconds }
        set { server.handshakeTimeoutMilliseconds = newValue }
    }
    public var idleTimeoutMilliseconds: Int64 {
        get { server.idleTimeoutMilliseconds }
        set { server.idleTimeoutMilliseconds = newValue }
    }
    public var shutdownTimeoutMilliseconds: Int64 {
        get { server.shutdownTimeoutMilliseconds }
        set { server.shutdownTimeoutMilliseconds = newValue }
    }
    public var echoEndpoint: Bool {
        get { server.echoEndpoint }
        set { server.echoEndpoint = newValue }
    }
    public var stateDirectory: String {
        get { server.stateDirectory }
        set { server.stateDirectory = newValue }
    }
    public var maxOutboundBytes: Int {
        get { server.maxOutboundBytes }
        set { server.maxOutboundBytes = newValue }
    }
    public var outboundHighWaterBytes: Int {
        get { server.outboundHighWaterBytes }
        set { server.outboundHighWaterBytes = newValue }
    }
    public var allowedOrigins: [String] {
        get { server.allowedOrigins }
        set { server.allowedOrigins = newValue }
    }
    public var secretKey: String {
        get { server.secretKey }
        set { server.secretKey = newValue }
    }
    public var handlersPath: String {
        get { server.handlersPath }
        set { server.handlersPath = newValue }
    }
    public var testHooks: Bool {
        get { server.testHooks }
        set { server.testHooks = newValue }
    }
    public var allowUserIDParam: Bool {
        get { server.allowUserIDParam }
        set { server.allowUserIDParam = newValue }
    }
    public var resolvedEventLoops: Int { server.resolvedEventLoops }
    public var heartbeatTimeoutMilliseconds: Int64 {
        get { channels.heartbeatTimeoutMilliseconds }
        set { channels.heartbeatTimeoutMilliseconds = newValue }
    }
    public var maxTopicsPerSocket: Int {
        get { channels.maxTopics }
        set { channels.maxTopics = newValue }
    }
    public var maxChannelPayloadBytes: Int {
        get { channels.maxPayloadBytes }
        set { channels.maxPayloadBytes = newValue }
    }
    public var rateLimitMessages: Int {
        get { channels.rateLimitMessages }
        set { channels.rateLimitMessages = newValue }
    }
    public var rateLimitWindowMilliseconds: Int64 {
        get { channels.rateLimitWindowMilliseconds }
        set { channels.rateLimitWindowMilliseconds = newValue }
    }
    public var presenceWindowMilliseconds: Int64 {
        get { channels.presenceWindowMilliseconds }
        set { channels.presenceWindowMilliseconds = newValue }
    }
    public var historyPerRoom: Int {
        get { channels.historyPerRoom }
        set { channels.historyPerRoom = newValue }
    }
    public var upgradeBinary: String {
        get { upgrade.binary }
        set { upgrade.binary = newValue }
    }
    public var upgradeReadyTimeoutMilliseconds: Int {
        get { upgrade.readyTimeoutMilliseconds }
        set { upgrade.readyTimeoutMilliseconds = newValue }
    }
    public var upgradeDoneTimeoutMilliseconds: Int {
        get { upgrade.doneTimeoutMilliseconds }
        set { upgrade.doneTimeoutMilliseconds = newValue }
    }
    public var upgradeHandshakeGraceMilliseconds: Int {
        get { upgrade.handshakeGraceMilliseconds }
        set { upgrade.handshakeGraceMilliseconds = newValue }
    }
    public var adminListen: SocketAddress {
        get { admin.listen }
        set { admin.listen = newValue }
    }
    public var adminToken: String {
        get { admin.token }
        set { admin.token = newValue }
    }
    public var tlsListen: SocketAddress {
        get { tls.listen }
        set { tls.listen = newValue }
    }
    public var tlsCertificatePath: String {
        get { tls.certificatePath }
        set { tls.certificatePath = newValue }
    }
    public var tlsKeyPath: String {
        get { tls.keyPath }
        set { tls.keyPath = newValue }
    }
    public var tlsMinimumVersion: String {
        get { tls.minimumVersion }
        set { tls.minimumVersion = newValue }
    }
    public var tlsEnabled: Bool { tls.isEnabled }
    public var maxRequestLineBytes: Int {
        get { http.maxRequestLineBytes }
        set { http.maxRequestLineBytes = newValue }
    }
    public var maxHeaderCount: Int {
        get { http.maxHeaderCount }
        set { http.maxHeaderCount = newValue }
    }
    public var maxHeaderBytes: Int {
        get { http.maxHeaderBytes }
        set { http.maxHeaderBytes = newValue }
    }
    public var maxBodyBytes: Int {
        get { http.maxBodyBytes }
        set { http.maxBodyBytes = newValue }
    }
    public var maxFrameBytes: Int {
        get { websocket.maxFrameBytes }
        set { websocket.maxFrameBytes = newValue }
    }
    public var maxMessageBytes: Int {
        get { websocket.maxMessageBytes }
        set { websocket.maxMessageBytes = newValue }
    }
    public var permessageDeflate: Bool {
        get { websocket.permessageDeflate }
        set { websocket.permessageDeflate = newValue }
    }
    public var deflateServerMaxWindowBits: Int {
        get { websocket.deflateServerMaxWindowBits }
        set { websocket.deflateServerMaxWindowBits = newValue }
    }
    public var deflateServerNoContextTakeover: Bool {
        get { websocket.deflateServerNoContextTakeover }
        set { websocket.deflateServerNoContextTakeover = newValue }
    }
    public var deflateLevel: Int {
        get { websocket.deflateLevel }
        set { websocket.deflateLevel = newValue }
    }
    public var deflateMinimumBytes: Int {
        get { websocket.deflateMinimumBytes }
        set { websocket.deflateMinimumBytes = newValue }
    }
    public var logLevel: String {
        get { log.level }
        set { log.level = newValue }
    }
}
