/// One file of a page, as compiled into the binary.
struct WebAsset: Sendable {
    let contentType: String
    let bytes: [UInt8]
}

/// The files of the pages by path (SwiftPM embeds `Assets/` into the binary as `PackageResources`, so the pages
/// need no files at run time and no network: no CDN, no build step).
enum WebAssets {
    static let html = "text/html; charset=utf-8"
    static let css = "text/css; charset=utf-8"
    static let javaScript = "text/javascript; charset=utf-8"
    static let icon = WebAsset(contentType: "image/svg+xml", bytes: PackageResources.favicon_svg)

    /// The demo chat on the client listener.
    static let demo: [String: WebAsset] = [
        "/": WebAsset(contentType: html, bytes: PackageResources.demo_html),
        "/demo/demo.css": WebAsset(contentType: css, bytes: PackageResources.demo_css),
        "/demo/demo.js": WebAsset(contentType: javaScript, bytes: PackageResources.demo_js),
        "/demo/phoenix-client.js": WebAsset(contentType: javaScript, bytes: PackageResources.phoenix_client_js),
        "/demo/presence.js": WebAsset(contentType: javaScript, bytes: PackageResources.presence_js),
        "/demo/dom.js": WebAsset(contentType: javaScript, bytes: PackageResources.dom_js),
        "/favicon.svg": icon,
    ]

    /// The operations dashboard on the admin listener.
    static let admin: [String: WebAsset] = [
        "/admin/": WebAsset(contentType: html, bytes: PackageResources.dashboard_html),
        "/admin/dashboard.css": WebAsset(contentType: css, bytes: PackageResources.dashboard_css),
        "/admin/dashboard.js": WebAsset(contentType: javaScript, bytes: PackageResources.dashboard_js),
        "/admin/charts.js": WebAsset(contentType: javaScript, bytes: PackageResources.charts_js),
        "/admin/dom.js": WebAsset(contentType: javaScript, bytes: PackageResources.dom_js),
        "/admin/favicon.svg": icon,
    ]
}
