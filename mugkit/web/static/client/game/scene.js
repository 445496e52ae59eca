// What is on the canvas: shapes with an `id` persist across `frame` messages (`set` adds or
// changes them, `del` removes them) and move smoothly; `once` shapes are drawn until the next
// frame; `image` is an RGB-array env's frame, drawn under the shapes.
//
// Smooth movement: when a persistent shape changes, it is drawn between its previous server value
// and the new one, from the moment the new frame arrived over one frame interval (1000 / fps ms),
// then exactly at the new value. Positions are always a blend of the last two server frames, never
// extrapolated, so they cannot drift; a frame that arrives early starts the next move from the
// previous server value.

/** Numeric fields that are blended between frames (positions and sizes; not font sizes or line widths). */
const BLENDED = ["x", "y", "w", "h", "r"];

function lerp(a, b, t) {
  return a + (b - a) * t;
}

/** The largest distance any point of a shape moved between `a` and `b` (null when they cannot blend). */
function displacement(a, b) {
  if (a.type !== b.type) return null;
  if (Array.isArray(b.points)) {
    if (!Array.isArray(a.points) || a.points.length !== b.points.length) return null;
    return Math.max(...b.points.map((p, i) => Math.hypot(p[0] - a.points[i][0], p[1] - a.points[i][1])));
  }
  const dx = (b.x ?? 0) - (a.x ?? 0);
  const dy = (b.y ?? 0) - (a.y ?? 0);
  return Math.hypot(dx, dy);
}

/** `to` with its geometry blended from `from` by `t` in [0, 1). */
function blend(from, to, t) {
  const out = {...to};
  for (const f of BLENDED) {
    if (typeof from[f] === "number" && typeof to[f] === "number") out[f] = lerp(from[f], to[f], t);
  }
  if (Array.isArray(to.points)) {
    out.points = to.points.map((p, i) => [lerp(from.points[i][0], p[0], t), lerp(from.points[i][1], p[1], t)]);
  }
  return out;
}

export class Scene {
  /**
   * @param {{width: number, height: number, fps: number}} options  a move longer than a quarter
   *   of the canvas in one frame is a jump (a respawn, a new round): drawn at once, not slid.
   */
  constructor({width, height, fps}) {
    this.interval = 1000 / (fps > 0 ? fps : 30);
    this.jump = Math.max(width, height) / 4;
    this.clear();
  }

  /** Forget everything (a new game, or the server starting over after a reconnection). */
  clear() {
    this.persistent = new Map();   // JSON of the id -> {from, to, t0}; insertion order = drawing order at equal depth
    this.once = [];
    this.image = null;             // the latest `image` data: URL
    this.episode = undefined;
    this.frames = 0;
    this.last = null;              // the last frame message's header (episode, frame, turn, hud)
  }

  /** Apply one `frame` message that arrived at `now` (performance.now() ms). */
  apply(message, now) {
    const newEpisode = this.episode !== undefined && message.episode !== this.episode;
    this.episode = message.episode;
    for (const id of message.del || []) this.persistent.delete(JSON.stringify(id));
    for (const shape of message.set || []) {
      if (!shape || shape.id === undefined || shape.id === null) continue;
      const key = JSON.stringify(shape.id);   // 7 and "7" are different ids
      const entry = this.persistent.get(key);
      if (!entry || newEpisode) {
        if (entry) this.persistent.delete(key);
        this.persistent.set(key, {from: null, to: shape, t0: now});
        continue;
      }
      const moved = displacement(entry.to, shape);
      const slide = moved !== null && moved <= this.jump;
      entry.from = slide ? entry.to : null;
      entry.to = shape;
      entry.t0 = now;
    }
    this.once = Array.isArray(message.once) ? message.once : [];
    if (typeof message.image === "string" && message.image) this.image = message.image;
    this.frames += 1;
    this.last = message;
  }

  /** True while some shape is between two frames (the canvas must be redrawn). */
  moving(now) {
    for (const entry of this.persistent.values()) {
      if (entry.from && now - entry.t0 < this.interval) return true;
    }
    return false;
  }

  /** The shapes to draw at `now`, in drawing order: by depth, then shapes drawn for this frame
   *  only (in their order), then persistent shapes (in the order they first appeared). */
  shapesAt(now) {
    const out = this.once.map((shape, i) => ({shape, rank: i}));
    let rank = out.length;
    for (const entry of this.persistent.values()) {
      const t = (now - entry.t0) / this.interval;
      const shape = entry.from && t < 1 ? blend(entry.from, entry.to, Math.max(0, t)) : entry.to;
      out.push({shape, rank: rank++});
    }
    out.sort((a, b) => (a.shape.depth || 0) - (b.shape.depth || 0) || a.rank - b.rank);
    return out.map((o) => o.shape);
  }
}
