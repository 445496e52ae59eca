// net/mesh.js driven by a test: signals and relayed packets wait in arrays the test takes and
// hands to the other page (as the check's harness and the game's socket.io do).
import {Mesh, netemFromPage} from "/static/client/net/mesh.js";

let mesh = null;
const bytes = (data) => Array.from(new Uint8Array(data));

window.meshTest = {
  signals: [],
  relayed: [],
  received: [],
  start(me, peers, options = {}) {
    mesh = new Mesh({me, peers, ice: options.ice || {}, relay: options.relay || "auto",
      openTimeoutMs: options.open_timeout_ms ?? 5000, netem: netemFromPage(), loopbackOnly: true,
      sendSignal: (to, data) => this.signals.push([to, JSON.parse(JSON.stringify(data))]),
      sendRelay: (to, data) => this.relayed.push([to, bytes(data)]),
      onPacket: (from, data) => this.received.push([from, bytes(data)])});
    mesh.start();
  },
  take(name) {
    return this[name].splice(0);
  },
  signal(from, data) {
    return mesh.onSignal(from, data);
  },
  relayIn(from, data) {
    mesh.onRelay(from, new Uint8Array(data).buffer);
  },
  send(to, data) {
    mesh.send(to, new Uint8Array(data).buffer);
  },
  states() {
    return mesh.states();
  },
  ready() {
    return mesh.ready().then(() => mesh.states());
  },
  stats() {
    return mesh.stats();
  },
  rebuild(peer) {
    mesh.rebuild(peer);
  },
  close() {
    mesh.close();
  },
};
document.body.dataset.ready = "1";
