// A full mesh of WebRTC data channels between the peers of one browser game (2–4 humans), owned
// by the page: one RTCPeerConnection per other peer, the lower handle offers. Channels are
// unordered with no retransmits (the rollback session sends its inputs redundantly) and binary.
//
// Signalling is pluggable: `sendSignal(to, data)` carries this page's offers, answers and ICE
// candidates to a peer (socket.io `signal` in a game, Python through Playwright in the check's
// harness), and `onSignal(from, data)` takes the other side's. Packets go over the channel while
// it is open and healthy; otherwise (not open within `openTimeoutMs`, broken since, or
// `relay: "force"`) through `sendRelay(to, bytes)` (the server's `relay` message); `onRelay`
// takes relayed packets in. Received packets from either path go to `onPacket(from, bytes)`.
//
// Network faults are injected on send (DevTools emulation does not touch data channels):
// `netem = {latency_ms, jitter_ms, loss, seed, block_direct}`; tests set `window.MUGKIT_NETEM`
// before the page loads (see `netemFromPage`). `block_direct`: a network where no data channel
// opens (as some firewalls do): every packet goes through the relay, as with `relay: "force"`. `loopbackOnly` drops every ICE candidate not on 127.0.0.1 / ::1
// (tests on one machine).
//
// Each connection has a generation id, chosen by its offerer: a peer that rebuilds a connection
// (a reloaded page, `rebuild`) offers with a new one, and the answering side replaces its old
// connection; signals of older generations are ignored.

const CHANNEL = {ordered: false, maxRetransmits: 0};
// A channel that stays broken (ICE disconnected or failed) this long sends through the relay.
const UNHEALTHY_MS = 1500;

/** The handle's index: "h2" → 2 (the lower handle of two offers). */
export function handleIndex(handle) {
  const n = Number(String(handle).replace(/^h/, ""));
  return Number.isFinite(n) ? n : Number.MAX_SAFE_INTEGER;
}

/** The network faults a test page asked for (`window.MUGKIT_NETEM`), or null. */
export function netemFromPage(scope = globalThis) {
  const n = scope.MUGKIT_NETEM;
  if (!n || typeof n !== "object") return null;
  return {latency_ms: Number(n.latency_ms) || 0, jitter_ms: Number(n.jitter_ms) || 0, loss: Number(n.loss) || 0,
    seed: n.seed ?? null, loopback_only: Boolean(n.loopback_only), block_direct: Boolean(n.block_direct)};
}

/** A small seeded generator (mulberry32), so an injected fault pattern can be repeated. */
function random(seed) {
  if (seed === null || seed === undefined) return Math.random;
  let a = (Number(seed) >>> 0) || 1;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LOOPBACK = /(^|\s)(127\.\d+\.\d+\.\d+|::1)(\s|$)/;

function loopbackCandidate(candidate) {
  // An end-of-candidates marker ("") always passes.
  return !candidate || LOOPBACK.test(candidate);
}

function filterSdp(sdp) {
  return sdp.split(/\r\n/).filter((line) => !line.startsWith("a=candidate:") || loopbackCandidate(line.slice(2)))
    .join("\r\n");
}

function newGeneration() {
  return Math.random().toString(36).slice(2, 10);
}

/** One other peer: its connection, its channel and which path its packets take. */
class Link {
  constructor(peer, offerer) {
    this.peer = peer;
    this.offerer = offerer;
    this.pc = null;
    this.channel = null;
    this.gen = null;
    this.openedAt = null;     // when the channel last opened
    this.brokenSince = null;  // when ICE last went disconnected/failed (null: healthy)
    this.timedOut = false;    // not open within the open timeout: relayed until it opens
    this.pendingCandidates = [];
  }

  get open() {
    return this.channel?.readyState === "open";
  }

  healthy(now) {
    return this.open && (this.brokenSince === null || now - this.brokenSince < UNHEALTHY_MS);
  }

  close() {
    try { this.channel?.close(); } catch { /* already closed */ }
    try { this.pc?.close(); } catch { /* already closed */ }
    this.pc = null;
    this.channel = null;
  }
}

export class Mesh {
  /**
   * @param {{me: string, peers: string[], ice?: RTCConfiguration, relay?: "auto"|"force",
   *          openTimeoutMs?: number, sendSignal: (to: string, data: object) => void,
   *          sendRelay?: (to: string, data: ArrayBuffer) => void,
   *          onPacket: (from: string, data: ArrayBuffer) => void,
   *          onChange?: (peer: string) => void, netem?: object|null, loopbackOnly?: boolean}} options
   *   `peers`: every peer's handle (mine may be among them); `ice`: the view's `peer.ice`
   *   (iceServers, iceTransportPolicy), nothing built in; `onChange`: a channel opened or broke.
   */
  constructor({me, peers, ice = {}, relay = "auto", openTimeoutMs = 5000, sendSignal, sendRelay = null,
    onPacket, onChange = () => {}, netem = null, loopbackOnly = false}) {
    this.me = me;
    this.ice = {iceServers: ice.iceServers || [], iceTransportPolicy: ice.iceTransportPolicy || "all"};
    this.forceRelay = relay === "force" || Boolean(netem?.block_direct);
    this.openTimeoutMs = openTimeoutMs;
    this.sendSignal = sendSignal;
    this.sendRelay = sendRelay;
    this.onPacket = onPacket;
    this.onChange = onChange;
    this.netem = netem && (netem.latency_ms || netem.jitter_ms || netem.loss) ? netem : null;
    this.rand = random(netem?.seed);
    this.loopbackOnly = Boolean(loopbackOnly || netem?.loopback_only);
    this.links = new Map();
    this.closed = false;
    this.counts = {sent: 0, relayed: 0, dropped: 0, received: 0};
    for (const peer of peers) {
      if (peer !== me) this.links.set(peer, new Link(peer, handleIndex(me) < handleIndex(peer)));
    }
    this.readyWaiters = [];
  }

  /** Opens a connection to every other peer (the offers go out; answers wait for theirs). */
  start() {
    for (const link of this.links.values()) this.connect(link);
  }

  /** The peers' handles. */
  get peers() {
    return [...this.links.keys()];
  }

  connect(link) {
    link.close();
    link.openedAt = null;
    link.brokenSince = null;
    link.timedOut = false;
    link.pendingCandidates = [];
    clearTimeout(link.timer);
    if (!this.forceRelay) {
      link.timer = setTimeout(() => {
        if (!link.open) {
          link.timedOut = true;
          this.changed(link);
        }
      }, this.openTimeoutMs);
    }
    if (this.forceRelay) return this.changed(link);
    if (link.offerer) {
      link.gen = newGeneration();
      const pc = this.newConnection(link);
      this.useChannel(link, pc.createDataChannel("mugkit", CHANNEL));
      this.offer(link, pc);
    } else {
      link.gen = null;   // the offerer's next offer sets it
      this.newConnection(link);
    }
  }

  async offer(link, pc) {
    try {
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      if (link.pc === pc) this.signal(link, {sdp: {type: offer.type, sdp: this.sdpOut(offer.sdp)}});
    } catch (err) {
      console.warn(`mesh: offer to ${link.peer} failed: ${err}`);
    }
  }

  newConnection(link) {
    const pc = new RTCPeerConnection(this.ice);
    link.pc = pc;
    pc.onicecandidate = ({candidate}) => {
      if (link.pc !== pc || !candidate || !candidate.candidate) return;
      if (this.loopbackOnly && !loopbackCandidate(candidate.candidate)) return;
      this.signal(link, {candidate: candidate.toJSON()});
    };
    pc.ondatachannel = ({channel}) => {
      if (link.pc === pc) this.useChannel(link, channel);
    };
    pc.oniceconnectionstatechange = () => {
      if (link.pc !== pc) return;
      const state = pc.iceConnectionState;
      if (state === "disconnected" || state === "failed") link.brokenSince ??= performance.now();
      else if (state === "connected" || state === "completed") link.brokenSince = null;
      this.changed(link);
    };
    return pc;
  }

  useChannel(link, channel) {
    channel.binaryType = "arraybuffer";
    link.channel = channel;
    channel.onopen = () => {
      if (link.channel !== channel) return;
      link.openedAt = performance.now();
      link.timedOut = false;
      this.changed(link);
    };
    channel.onclose = () => {
      if (link.channel === channel) this.changed(link);
    };
    channel.onmessage = ({data}) => {
      if (this.closed) return;
      this.counts.received += 1;
      this.onPacket(link.peer, data);
    };
  }

  sdpOut(sdp) {
    return this.loopbackOnly ? filterSdp(sdp) : sdp;
  }

  signal(link, data) {
    this.sendSignal(link.peer, {...data, gen: link.gen});
  }

  /** A signal from peer `from` (its offer, answer or ICE candidate). */
  async onSignal(from, data) {
    const link = this.links.get(from);
    if (!link || !data || typeof data !== "object" || this.closed || this.forceRelay) return;
    try {
      if (data.sdp?.type === "offer") {
        if (link.offerer) return;   // we offer to this peer: its stray offer is ignored
        if (link.gen !== null && link.gen !== data.gen) this.connect(link);   // it rebuilt: so do we
        link.gen = data.gen ?? null;
        const pc = link.pc;
        await pc.setRemoteDescription(data.sdp);
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        if (link.pc !== pc) return;
        this.signal(link, {sdp: {type: answer.type, sdp: this.sdpOut(answer.sdp)}});
        await this.flushCandidates(link, pc);
      } else if (data.sdp?.type === "answer") {
        if (!link.offerer || data.gen !== link.gen || link.pc.signalingState !== "have-local-offer") return;
        const pc = link.pc;
        await pc.setRemoteDescription(data.sdp);
        await this.flushCandidates(link, pc);
      } else if (data.candidate) {
        if (data.gen !== link.gen && !(link.gen === null && !link.offerer)) return;   // an older connection's
        if (this.loopbackOnly && !loopbackCandidate(data.candidate.candidate)) return;
        if (link.pc?.remoteDescription) await link.pc.addIceCandidate(data.candidate);
        else link.pendingCandidates.push(data.candidate);
      }
    } catch (err) {
      console.warn(`mesh: signal from ${from} failed: ${err}`);
    }
  }

  async flushCandidates(link, pc) {
    const waiting = link.pendingCandidates.splice(0);
    for (const candidate of waiting) {
      if (link.pc === pc) await pc.addIceCandidate(candidate).catch(() => {});
    }
  }

  /** The server said `peer` reloads: a new connection to it (the offerer offers again, the
   *  answerer waits for that offer; meanwhile its packets go through the relay). */
  rebuild(peer) {
    const link = this.links.get(peer);
    if (!link || this.closed) return;
    if (link.offerer || this.forceRelay) this.connect(link);
    else {
      link.brokenSince ??= performance.now() - UNHEALTHY_MS;   // relayed until its new offer comes
      this.changed(link);
    }
  }

  /** Whether packets for `peer` go through the server now. */
  relayed(peer) {
    const link = this.links.get(peer);
    return this.forceRelay || !link || !link.healthy(performance.now());
  }

  /** Sends one packet (ArrayBuffer or typed array) to `peer`, through the injected faults. */
  send(peer, data) {
    if (this.closed || !this.links.has(peer)) return;
    const {netem} = this;
    if (netem) {
      if (netem.loss && this.rand() < netem.loss) {
        this.counts.dropped += 1;
        return;
      }
      const delay = (netem.latency_ms || 0) + (netem.jitter_ms ? this.rand() * netem.jitter_ms : 0);
      if (delay > 0) {
        setTimeout(() => this.transmit(peer, data), delay);
        return;
      }
    }
    this.transmit(peer, data);
  }

  transmit(peer, data) {
    if (this.closed) return;
    const link = this.links.get(peer);
    if (!this.relayed(peer)) {
      try {
        link.channel.send(data);
        this.counts.sent += 1;
        return;
      } catch { /* closed in between: relay it */ }
    }
    if (this.sendRelay) {
      this.sendRelay(peer, data);
      this.counts.relayed += 1;
    }
  }

  /** A packet the server relayed from `from`. */
  onRelay(from, data) {
    if (this.closed || !this.links.has(from)) return;
    this.counts.received += 1;
    this.onPacket(from, data);
  }

  /** Every peer's path so far: "direct" | "turn" (channel open) | "relay" | "pending". The TURN
   *  distinction needs getStats: see `stats()`; this says "direct" for an open channel. */
  states() {
    const now = performance.now();
    const out = {};
    for (const [peer, link] of this.links) {
      if (this.forceRelay) out[peer] = "relay";
      else if (link.healthy(now)) out[peer] = "direct";
      else if (link.timedOut || link.brokenSince !== null) out[peer] = this.sendRelay ? "relay" : "pending";
      else out[peer] = "pending";
    }
    return out;
  }

  changed(link) {
    this.onChange(link.peer);
    if (Object.values(this.states()).every((s) => s !== "pending")) {
      this.readyWaiters.splice(0).forEach((resolve) => resolve());
    }
  }

  /** Resolves once every peer's channel is open or relayed (after at most the open timeout). */
  ready() {
    if (Object.values(this.states()).every((s) => s !== "pending")) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Per peer: its path ("direct": a host/srflx candidate pair, "turn": a relay candidate,
   *  "relay": through the server) and the channel's round-trip time (ms) from getStats(). */
  async stats() {
    const paths = {};
    const rtt = {};
    const states = this.states();
    for (const [peer, link] of this.links) {
      paths[peer] = states[peer];
      if (states[peer] !== "direct" || !link.pc) continue;
      try {
        const pair = await selectedPair(link.pc);
        if (pair) {
          paths[peer] = pair.local?.candidateType === "relay" || pair.remote?.candidateType === "relay" ? "turn" : "direct";
          if (typeof pair.pair.currentRoundTripTime === "number") rtt[peer] = pair.pair.currentRoundTripTime * 1000;
        }
      } catch { /* stats unavailable: the path stays as it is */ }
    }
    return {paths, rtt_ms: rtt, counts: {...this.counts}};
  }

  close() {
    this.closed = true;
    for (const link of this.links.values()) {
      clearTimeout(link.timer);
      link.close();
    }
  }
}

/** The connection's selected candidate pair and its two candidates (from getStats). */
async function selectedPair(pc) {
  const report = await pc.getStats();
  let pair = null;
  report.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId) || pair;
  });
  if (!pair) {
    report.forEach((s) => {
      if (!pair && s.type === "candidate-pair" && s.state === "succeeded" && s.nominated) pair = s;
    });
  }
  if (!pair) return null;
  return {pair, local: report.get(pair.localCandidateId), remote: report.get(pair.remoteCandidateId)};
}
