// # HoldfastWeb
//
// What the listeners serve besides sockets: the demo chat page (`GET /` on the client listener, with its token
// endpoint `POST /demo/token`), the operations dashboard (`GET /admin/` on the admin listener) and the JSON it
// reads (`GET /admin/stats`), `GET /admin/status`, and the metrics behind `GET /metrics`.
//
// Lifecycle: the server makes one ``WebPages`` at start and asks it first about every request its own routes
// do not take; a nil answer means "not mine". The pages are static files compiled into the binary
// (`Assets/`, embedded by SwiftPM), sent with `Content-Security-Policy: default-src 'self'`.
//
// Errors: every answer is an HTTP response; bad input (a bad JSON body, an unknown path) gets a 4xx, never a
// trap. Performance: the pages are a few tens of kilobytes held in memory; nothing here is on a socket's hot
// path.
