// `game` view of a browser game with several humans (`runtime: "browser"` with `peer`): each
// participant's page runs its own peer of the game (runtime/worker.js in peer mode, the rollback
// session in Python) and connects to the other pages over WebRTC data channels (net/mesh.js),
// signalled through the server (`signal`), relayed through it when a channel does not open in
// time or breaks (`relay`). The flow (DESIGN17, mugkit/web/protocol.py):
//   load Python → connect every channel → the ready screen → `peer_ready` with the paths →
//   "waiting for the others" until `peer_go` → the countdown → play.
// A page reloaded mid-game gets the view with `rejoin: true`: it loads, connects, sends `rejoin`
// and plays on from a survivor's `package`. Survivors rebuild the connection on `peer_rejoining`
// and answer `package_request`. A hidden tab keeps ticking (the worker's clock), playing the
// default action; the others see a notice. `peer_left` ends the game on this page (the server
// sends the next view).

import {button, card, el} from "../dom.js";
import {Mesh, netemFromPage} from "../net/mesh.js";
import {BrowserGameView} from "./browser_game.js";

const STATUS_EVERY_MS = 5000;
const LEFT_NOTICE_S = 20;       // the "partner left" notice holds the next view back this long at most   // how often the paths and round-trip times go to the server
// A rejoining page waits this long for every survivor's package after the first (with 3–4
// players; PeerGame.rejoin merges their inputs), then plays on with those it has.
const PACKAGES_WAIT_MS = 1500;

/** Who another peer is to this participant: "your partner" with one other human, else its
 *  player's name as the HUD shows it. */
function partnerName(view, handle, capital = true) {
  const others = Object.keys(view.peer.peers).filter((h) => h !== view.peer.me);
  if (others.length === 1) return capital ? "Your partner" : "your partner";
  return view.hud.nameOf(view.peer.peers[handle]);
}

export class PeerGameView extends BrowserGameView {
  mount(container) {
    this.peer = this.message.peer;
    this.packages = [];
    super.mount(container);
    this.root.dataset.peer = this.peer.me;
    // Over the stage (as the focus note), so the canvas keeps its size when it shows.
    this.peerNote = el("div", {class: "mk-peer-note", role: "status", hidden: true});
    this.focusNote.after(this.peerNote);
    this.hiddenPeers = new Set();
    this.interrupted = new Map();   // peer -> consecutive timing reports (1 s apart) it was interrupted in
    this.onVisibility = () => this.visibility();
    document.addEventListener("visibilitychange", this.onVisibility);
    // The connections open while Python loads: the other pages' offers may come any moment.
    this.mesh = this.openMesh();
    this.mesh.start();
  }

  /** Loads Python (the worker holds its clock until the countdown ends). */
  async begin(boot) {
    await this.outbox.drained();   // rows an earlier visit of this game left unsent
    this.worker?.start(boot, null, true, this.peer);
  }

  /** Python is loaded: connect, then the ready gate (or the rejoin). */
  async play() {
    this.root.dataset.screen = "connecting";
    this.screens.waiting(Object.keys(this.peer.peers).length > 2 ? "Connecting to the other players…"
      : "Connecting to your partner…");
    await this.mesh.ready();
    if (this.destroyed) return;
    this.statusTimer = setInterval(() => this.sendStatus(), STATUS_EVERY_MS);
    if (this.peer.rejoin) return this.rejoin();
    const {ready} = this.settings;
    if (ready) {
      this.root.dataset.screen = "ready";
      if (!(await this.screens.ready()) || this.destroyed) return;
    }
    this.root.dataset.screen = "waiting";
    this.screens.waiting(Object.keys(this.peer.peers).length > 2 ? "Waiting for the other players…"
      : "Waiting for your partner…");
    const {paths} = await this.mesh.stats();
    this.root.dataset.paths = JSON.stringify(paths);
    const reply = await this.ctx.link.request("peer_ready", {game: this.message.game, paths});
    if (!reply.ok) console.warn(`peer_ready refused: ${reply.error}`);
  }

  openMesh() {
    const {game} = this.message;
    const link = this.ctx.link;
    return new Mesh({me: this.peer.me, peers: Object.keys(this.peer.peers), ice: this.peer.ice || {},
      relay: this.peer.relay || "auto", openTimeoutMs: this.peer.open_timeout_ms ?? 5000,
      netem: netemFromPage(),
      sendSignal: (to, data) => link.request("signal", {game, to, data}),
      sendRelay: (to, data) => link.send("relay", {game, to, data}),
      onPacket: (from, data) => this.packet(from, data)});
  }

  /** A packet from another peer (a data channel or the relay): to the worker, transferred. */
  packet(from, data) {
    if (!this.worker || !this.root.dataset.loaded) return;
    const buffer = data instanceof ArrayBuffer ? data : new Uint8Array(data).slice().buffer;
    this.worker.send({type: "packet", from, data: buffer}, [buffer]);
  }

  /** The server's multiplayer messages (app.js routes them here). */
  peerMessage(event, message) {
    if (!message || message.game !== this.message.game || this.destroyed) return;
    const handler = {
      signal: () => this.mesh?.onSignal(message.from, message.data),
      relay: () => this.mesh?.onRelay(message.from, message.data),
      peer_go: () => this.started(),
      peer_notice: () => this.notice(message.peer, message.hidden),
      peer_rejoining: () => this.mesh?.rebuild(message.peer),
      package_request: () => this.worker?.send({type: "package_request", for: message.for}),
      package: () => this.gotPackage(message),
      peer_left: () => this.left(message.peer),
    }[event];
    handler?.();
  }

  /** Every peer is ready: the countdown, then the worker's clock runs. */
  async started() {
    if (this.playing || this.root.dataset.screen === "countdown") return;
    await this.go(this.settings.countdown);
    this.sendStatus();
  }

  fromWorker(data) {
    const handler = {
      packets: () => data.list.forEach(([to, buffer]) => this.mesh?.send(to, buffer)),
      events: () => this.events(JSON.parse(data.text)),
      stats: () => (this.gameStats = data.stats),
      timing: () => {
        if (data.stats) this.sessionStates(data.stats);
        super.fromWorker(data);
      },
      package: () => this.ctx.link.request("package", {game: this.message.game, for: data.for, data: data.data}),
      paused: () => {},   // peers never hold between episodes
    }[data?.type];
    if (handler) return handler();
    super.fromWorker(data);
  }

  /** The game's events (desync, a peer interrupted or waited for) go to the server. */
  events(list) {
    if (!list.length) return;
    this.ctx.link.request("peer_event", {game: this.message.game, events: list});
    const desync = list.find((e) => e.kind === "desync");
    if (desync) this.root.dataset.desync = `${desync.episode}:${desync.frame}`;
  }

  /** The session's view of each peer, once a second: a connection interrupted for two reports
   *  in a row shows a notice (short stalls, as at the start, do not). */
  sessionStates(stats) {
    this.gameStats = stats;
    for (const [peer, state] of Object.entries(stats.peers || {})) {
      this.interrupted.set(peer, state === "interrupted" ? (this.interrupted.get(peer) || 0) + 1 : 0);
    }
    this.showNote();
  }

  /** Another peer's window was hidden or shown again. */
  notice(peer, hidden) {
    if (hidden) this.hiddenPeers.add(peer);
    else this.hiddenPeers.delete(peer);
    this.showNote();
  }

  showNote() {
    const lines = [];
    for (const peer of this.hiddenPeers) {
      lines.push(`${partnerName(this, peer)}’s window is hidden, so they cannot play right now. The game goes on; they can come back at any moment.`);
    }
    for (const [peer, count] of this.interrupted) {
      if (count >= 2 && !this.hiddenPeers.has(peer)) {
        lines.push(`The connection to ${partnerName(this, peer, false)} is interrupted. Waiting for them…`);
      }
    }
    this.peerNote.textContent = lines.join(" ");
    this.peerNote.hidden = lines.length === 0;
    this.root.dataset.peerNotice = !lines.length ? "" : this.hiddenPeers.size ? "hidden" : "interrupted";
  }

  /** This tab was hidden or shown: its game keeps ticking with the default action meanwhile. */
  visibility() {
    const hidden = document.visibilityState === "hidden";
    this.worker?.send({type: "hidden", hidden});
    this.ctx.link.request("peer_status", {game: this.message.game, hidden});
  }

  /** The paths and round-trip times to the server: the data channel's (getStats) where there is
   *  one, else the rollback session's own (its quality reports; relayed packets). */
  async sendStatus() {
    if (!this.mesh || this.destroyed) return;
    const {paths, rtt_ms: channel} = await this.mesh.stats();
    const rtt = {};
    for (const [peer, ms] of Object.entries({...(this.gameStats?.rtt_ms || {}), ...channel})) {
      if (typeof ms === "number" && Number.isFinite(ms) && ms >= 0) rtt[peer] = Math.round(ms * 100) / 100;
    }
    this.root.dataset.paths = JSON.stringify(paths);
    this.ctx.link.request("peer_status", {game: this.message.game, paths, rtt_ms: rtt});
  }

  /** A reloaded page: ask the survivors for the game as it stands. */
  async rejoin() {
    this.root.dataset.screen = "rejoining";
    this.screens.waiting("Reconnecting to the game…");
    const reply = await this.ctx.link.request("rejoin", {game: this.message.game});
    if (!reply.ok) console.warn(`rejoin refused: ${reply.error}`);
  }

  gotPackage({data}) {
    if (!this.peer.rejoin || this.rejoined) return;
    this.packages.push(data);
    const survivors = Object.keys(this.peer.peers).length - 1;
    clearTimeout(this.packageTimer);
    if (this.packages.length >= survivors) this.usePackage();
    else this.packageTimer = setTimeout(() => this.usePackage(), PACKAGES_WAIT_MS);
  }

  /** The survivors' packages go to the worker (PeerGame.rejoin merges their inputs), which plays on. */
  usePackage() {
    if (this.rejoined || !this.packages.length) return;
    this.rejoined = true;
    const buffers = this.packages.map((p) => (p instanceof ArrayBuffer ? p : new Uint8Array(p).slice().buffer));
    this.screens.hide();
    this.root.dataset.screen = "play";
    this.playing = true;
    this.worker?.send({type: "rejoin", data: buffers}, buffers);
    this.keyboard.resync();
  }

  /** Another peer left for good: the game ends here. The notice holds the server's next view
   *  back (app.js `holding`) until the participant continues, or LEFT_NOTICE_S pass. */
  left(peer) {
    this.worker?.discard();
    this.worker = null;
    this.playing = false;
    this.outbox.flush();
    this.screens.hide();
    this.peerNote.hidden = true;
    this.slowNote.hidden = true;
    this.root.dataset.ended = "partner_left";
    let proceed;
    this.holding = new Promise((resolve) => (proceed = resolve));
    const done = () => {
      clearTimeout(timer);
      this.holding = null;
      proceed();
    };
    const timer = setTimeout(done, LEFT_NOTICE_S * 1000);
    this.overlay.hidden = false;
    this.overlay.classList.add("mk-stage-overlay-failed");   // a card over the stage, its button clickable
    this.overlay.replaceChildren(card(`${partnerName(this, peer)} left the game`,
      el("p", {}, `${partnerName(this, peer)} lost the connection and did not come back, so the game cannot go on.`),
      el("p", {}, "What you played is saved. Thank you for playing!"),
      el("div", {class: "mk-actions"}, button("Continue", done, "primary", {dataset: {answer: "continue"}}))));
  }

  finished() {
    this.mesh?.close();
    clearInterval(this.statusTimer);
    return super.finished();
  }

  destroy() {
    clearInterval(this.statusTimer);
    clearTimeout(this.packageTimer);
    document.removeEventListener("visibilitychange", this.onVisibility);
    this.mesh?.close();
    super.destroy();
  }
}
