// The game's canvas: `width` × `height` canvas pixels, scaled to fit its container with the aspect
// ratio kept, and backed by device pixels (sharp on high-DPI screens and when zoomed).

export class Stage {
  /**
   * @param {HTMLElement} container  the box the canvas fits into (its size is the space available)
   * @param {number} width  canvas pixels (the step's `width`)
   * @param {number} height  canvas pixels (the step's `height`)
   * @param {(stage: Stage) => void} onresize  called after the canvas changed size (redraw)
   */
  constructor(container, width, height, onresize = () => {}) {
    this.width = width;
    this.height = height;
    this.container = container;
    this.onresize = onresize;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "mk-canvas";
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", "The game");
    this.ctx = this.canvas.getContext("2d", {alpha: false});
    container.append(this.canvas);
    this.observer = new ResizeObserver(() => this.fit());
    this.observer.observe(container);
    this.onWindowResize = () => this.fit();   // also fires when the device pixel ratio changes (zoom)
    window.addEventListener("resize", this.onWindowResize);
    this.fit();
  }

  /** Size the canvas to the container; returns the scale (CSS pixels per canvas pixel). */
  fit() {
    const availW = this.container.clientWidth;
    const availH = this.container.clientHeight;
    if (!(availW > 0 && availH > 0)) return this.scale || 0;
    const scale = Math.min(availW / this.width, availH / this.height);
    const cssW = Math.max(1, Math.floor(this.width * scale));
    const cssH = Math.max(1, Math.floor(this.height * scale));
    const dpr = window.devicePixelRatio || 1;
    const pxW = Math.max(1, Math.round(cssW * dpr));
    const pxH = Math.max(1, Math.round(cssH * dpr));
    if (this.canvas.width !== pxW || this.canvas.height !== pxH || this.cssW !== cssW || this.cssH !== cssH) {
      this.canvas.style.width = `${cssW}px`;
      this.canvas.style.height = `${cssH}px`;
      this.canvas.width = pxW;
      this.canvas.height = pxH;
      this.cssW = cssW;
      this.cssH = cssH;
      this.scale = scale;
      this.onresize(this);
    }
    return scale;
  }

  /** Start a drawing: clear, and map canvas pixels onto device pixels. */
  begin(background = "#000000") {
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = background;
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.setTransform(this.canvas.width / this.width, 0, 0, this.canvas.height / this.height, 0, 0);
    return ctx;
  }

  destroy() {
    this.observer.disconnect();
    window.removeEventListener("resize", this.onWindowResize);
    this.canvas.remove();
  }
}
