// uws-peer: the uWebSockets peer in Holdfast's side-by-side benchmarks (built by benchmarks/build-uws-peer.sh).
//
//   uws-peer [PORT]
//
// Listens on 127.0.0.1:PORT (default 9001), one thread, one event loop, and upgrades
//   /ws/echo       to a WebSocket that sends every message back with its own opcode, and
//   /ws/broadcast  to a WebSocket subscribed to one topic; every message it receives is published to that
//                  topic with the App's publish, so every client there gets it, its sender included (the
//                  sender's copy is its acknowledgement in `holdfast-bench broadcast --raw`).
//   /metrics       answers `uws_peer_deliveries_total N`: every publish counted as many times as the topic has
//                  subscribers, so that the bench can divide the server's CPU by the deliveries it made (read
//                  by `holdfast-bench broadcast --server-counts-url`, as Holdfast's own counter is).
// Settings are uWebSockets' defaults except: no idle timeout and no automatic pings (the bench does not answer
// them on a schedule), and a send buffer limit far above what a closed-loop run queues, so that nothing is
// dropped for backpressure.

#include "App.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

struct NoUserData {};

constexpr std::string_view topic = "room";

template <typename Behavior>
Behavior benchmarkBehavior() {
    Behavior behavior;
    behavior.compression = uWS::DISABLED;
    behavior.maxPayloadLength = 1 << 20;
    behavior.idleTimeout = 0;
    behavior.sendPingsAutomatically = false;
    behavior.maxBackpressure = 64 << 20;
    behavior.closeOnBackpressureLimit = false;
    return behavior;
}

}  // namespace

int main(int argc, char **argv) {
    int port = argc > 1 ? std::atoi(argv[1]) : 9001;
    if (port < 1 || port > 65535) {
        std::fprintf(stderr, "usage: uws-peer [PORT]\n");
        return 2;
    }
    uWS::App app;
    using Behavior = uWS::App::WebSocketBehavior<NoUserData>;

    Behavior echo = benchmarkBehavior<Behavior>();
    echo.message = [](auto *ws, std::string_view message, uWS::OpCode opCode) { ws->send(message, opCode); };
    app.ws<NoUserData>("/ws/echo", std::move(echo));

    Behavior broadcast = benchmarkBehavior<Behavior>();
    broadcast.open = [](auto *ws) { ws->subscribe(topic); };
    // Counted before the publish, from the topic's subscriber count: one addition per message, nothing per
    // subscriber, so the count costs the peer nothing it would notice.
    std::uint64_t deliveries = 0;
    broadcast.message = [&app, &deliveries](auto *, std::string_view message, uWS::OpCode opCode) {
        deliveries += app.numSubscribers(topic);
        app.publish(topic, message, opCode);
    };
    app.ws<NoUserData>("/ws/broadcast", std::move(broadcast));
    app.get("/metrics", [&deliveries](auto *response, auto *) {
        response->end("uws_peer_deliveries_total " + std::to_string(deliveries) + "\n");
    });

    app.listen("127.0.0.1", port, [port](auto *listenSocket) {
        if (!listenSocket) {
            std::fprintf(stderr, "uws-peer: cannot listen on 127.0.0.1:%d\n", port);
            std::exit(1);
        }
    });
    app.run();
    return 0;
}
