// Images for sprites and texture atlases, loaded once per URL. A sprite's `image` (and `atlas`) is
// a URL relative to the experiment's folder, which the server serves at /<experiment>/files/
// (e.g. "static/car.png" is /<experiment>/files/static/car.png);
// data: URLs and absolute paths work too. Until an image has loaded, its sprites are not drawn;
// `onload` asks for a redraw when it arrives.

/**
 * An atlas's frames JSON, as TexturePacker writes it (MUG's Overcooked sprites use it): either
 * {"frames": {name: {"frame": {x, y, w, h}, "rotated", "trimmed", "spriteSourceSize", "sourceSize"}}}
 * or {"frames": [{"filename": name, "frame": ...}, ...]}. Returns Map name -> frame.
 */
export function parseAtlas(json) {
  const frames = new Map();
  const list = Array.isArray(json?.frames)
    ? json.frames.map((f) => [f.filename, f])
    : Object.entries(json?.frames || {});
  for (const [name, f] of list) {
    const r = f?.frame;
    if (typeof name !== "string" || !r || ![r.x, r.y, r.w, r.h].every(Number.isFinite)) continue;
    const source = f.sourceSize && Number.isFinite(f.sourceSize.w) ? f.sourceSize : {w: r.w, h: r.h};
    const placed = f.trimmed && f.spriteSourceSize ? f.spriteSourceSize : {x: 0, y: 0};
    frames.set(name, {
      x: r.x, y: r.y, w: r.w, h: r.h,     // w, h: the frame's size as drawn (unrotated)
      rotated: !!f.rotated,               // stored 90° clockwise in the sheet
      sourceW: source.w, sourceH: source.h,
      offsetX: placed.x || 0, offsetY: placed.y || 0,
    });
  }
  return frames;
}

export class ImageStore {
  /**
   * @param {string} base  the URL relative image names resolve against (the experiment's page)
   * @param {() => void} onload  called when an image or atlas finishes loading
   */
  constructor(base, onload = () => {}) {
    this.base = base;
    this.onload = onload;
    this.images = new Map();   // url -> {img, ok}
    this.atlases = new Map();  // url -> {frames | null}
    this.warned = new Set();
  }

  resolve(url) {
    try {
      return new URL(url, this.base).href;
    } catch {
      return url;
    }
  }

  /** The loaded image at `url`, or null while it loads (or when it failed). */
  image(url) {
    const href = this.resolve(url);
    let entry = this.images.get(href);
    if (!entry) {
      const img = new Image();
      entry = {img, ok: false};
      this.images.set(href, entry);
      img.onload = () => {
        entry.ok = true;
        this.onload();
      };
      img.onerror = () => this.warn(href, `could not load image ${href}`);
      img.src = href;
    }
    return entry.ok ? entry.img : null;
  }

  /** The frames of the atlas at `url` (Map name -> frame), or null while it loads. */
  atlas(url) {
    const href = this.resolve(url);
    let entry = this.atlases.get(href);
    if (!entry) {
      entry = {frames: null};
      this.atlases.set(href, entry);
      fetch(href)
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
        .then((json) => {
          entry.frames = parseAtlas(json);
          this.onload();
        })
        .catch((err) => this.warn(href, `could not load atlas ${href}: ${err.message}`));
    }
    return entry.frames;
  }

  /** Log a problem once per key (not once per frame). */
  warn(key, text) {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    console.warn(`mugkit: ${text}`);
  }

  /** Decode an image from a data: URL without blocking drawing; resolves to the image. */
  static decode(url) {
    const img = new Image();
    img.src = url;
    return img.decode().then(() => img);
  }
}
