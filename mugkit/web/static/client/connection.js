// The connection to the server: socket.io over websockets only, with the `auth` of
// mugkit/web/protocol.py, wrapped in a small "link" the app talks to.

import {loadIdentity} from "./identity.js";

/** Server → client events (protocol.py). */
/** Server → client events of browser games with several humans (views/peer_game.js). */
export const PEER_EVENTS = ["signal", "relay", "peer_go", "peer_notice", "peer_rejoining", "package_request", "package",
  "peer_left"];
/** Server → client events of a monitored game (game/monitor.js). */
export const MONITOR_EVENTS = ["monitor_ping", "monitor_warning", "monitor_notice"];
export const SERVER_EVENTS = ["view", "frame", "screen", "waitroom", "identity", "error", ...PEER_EVENTS,
  ...MONITOR_EVENTS];

/** The page's query string as {name: value} (the last value of a repeated name wins). */
export function queryParams(search = location.search) {
  return Object.fromEntries(new URLSearchParams(search));
}

/**
 * Open the socket.io connection for `experiment` (same origin, path /socket.io/). `auth` is read
 * again at every (re)connection, so a reconnect sends the identity the server gave meanwhile.
 */
export function openSocket(experiment, io = globalThis.io) {
  if (typeof io !== "function") throw new Error("socket.io client did not load (/static/vendor/socket.io.min.js)");
  const query = queryParams();
  return io({
    transports: ["websocket"],
    // `screens`: this page shows the screens around games, so a server game's clock waits for it.
    auth: (send) => send({experiment, query, screens: true, ...loadIdentity(experiment)}),
    reconnectionDelayMax: 5000,
  });
}

/**
 * A link over a socket.io-like socket (`on`, `emit`, `timeout(ms).emit(..., cb(err, reply))`):
 *   link.send(event, data)             fire and forget
 *   link.sendNow(event, data)          fire and forget, dropped while not connected
 *   link.request(event, data, ms)      a Promise of the server's acknowledgement
 *   link.on(event, fn)                 server messages, plus "status":
 *                                      "connected" | "reconnecting" | "refused" | "offline"
 */
export function createLink(socket) {
  const handlers = new Map();
  const fire = (event, data) => (handlers.get(event) || []).forEach((fn) => fn(data));
  for (const event of SERVER_EVENTS) socket.on(event, (data) => fire(event, data));
  socket.on("connect", () => fire("status", "connected"));
  // The server's own round-trip measure (a screening step's `max_rtt_ms`): answered at once.
  socket.on("screen_ping", (data, ack) => typeof ack === "function" && ack({}));
  // The server closes a connection itself only for good (the study went on in another window):
  // socket.io does not reconnect then, and neither do we.
  socket.on("disconnect", (reason) => fire("status",
    reason === "io client disconnect" || reason === "io server disconnect" ? "offline" : "reconnecting"));
  // A connection the server refused (its connect handler said no) is not retried by socket.io.
  socket.on("connect_error", (err) => fire("status", socket.active === false ? "refused" : "reconnecting"));
  return {
    on(event, fn) {
      if (!handlers.has(event)) handlers.set(event, []);
      handlers.get(event).push(fn);
    },
    send(event, data) {
      socket.emit(event, data);
    },
    /** Sent only if connected now, never buffered for a reconnection (heartbeats: a burst of old
     *  ones would say nothing true and trip the server's rate limit). */
    sendNow(event, data) {
      (socket.volatile ?? socket).emit(event, data);
    },
    request(event, data, ms = 15000) {
      return new Promise((resolve) => {
        socket.timeout(ms).emit(event, data, (err, reply) => {
          if (err) resolve({ok: false, error: "The server did not answer. Please check your connection and try again."});
          else resolve(reply && typeof reply === "object" ? reply : {ok: false, error: "Unexpected answer from the server."});
        });
      });
    },
  };
}
