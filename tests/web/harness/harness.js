// The client's App over a fake socket.io socket. Tests drive it through `window.harness`:
//   harness.receive(event, data)    a server message (view, frame, waitroom, identity, error)
//   harness.sent(event?)            what the client emitted, in order ({event, data})
//   harness.replies                 acknowledgements to give, in order (default {ok: true}); a
//                                   reply's `holdMs` holds it back that long (a slow server)
//   harness.pixel(x, y)             [r, g, b, a] of the game canvas at canvas pixel (x, y)
//   harness.frames(n)               resolves after n animation frames
import {App} from "/static/client/app.js";
import {createLink} from "/static/client/connection.js";

class FakeSocket {
  constructor() {
    this.handlers = new Map();
    this.log = [];
    this.replies = [];
    this.active = true;
  }

  on(event, fn) {
    if (!this.handlers.has(event)) this.handlers.set(event, []);
    this.handlers.get(event).push(fn);
  }

  emit(event, data, ack) {
    this.log.push({event, data: structuredClone(data)});
    if (ack) {
      const {holdMs = 10, ...reply} = this.replies.length ? this.replies.shift() : {ok: true};
      setTimeout(() => ack(reply), holdMs);
    }
  }

  timeout() {
    return {emit: (event, data, ack) => this.emit(event, data, ack && ((reply) => ack(null, reply)))};
  }

  receive(event, data) {
    for (const fn of this.handlers.get(event) || []) fn(data);
  }
}

const socket = new FakeSocket();
const link = createLink(socket);
const app = new App(document.getElementById("mugkit"), {experiment: document.body.dataset.experiment, link});

window.harness = {
  socket,
  app,
  get replies() {
    return socket.replies;
  },
  receive: (event, data) => socket.receive(event, data),
  sent: (event) => socket.log.filter((m) => !event || m.event === event),
  clear: () => (socket.log.length = 0),
  canvas: () => document.querySelector("canvas.mk-canvas"),
  pixel(x, y) {
    const canvas = this.canvas();
    const view = app.view;
    const px = Math.floor((x * canvas.width) / view.width);
    const py = Math.floor((y * canvas.height) / view.height);
    return Array.from(canvas.getContext("2d").getImageData(px, py, 1, 1).data);
  },
  /** The box (canvas pixels) of the pixels within `tol` of `rgb` inside [x0, y0, x1, y1], or null. */
  find(rgb, [x0, y0, x1, y1] = [0, 0, app.view.width, app.view.height], tol = 40) {
    const canvas = this.canvas();
    const sx = canvas.width / app.view.width;
    const sy = canvas.height / app.view.height;
    const X0 = Math.max(0, Math.floor(x0 * sx));
    const Y0 = Math.max(0, Math.floor(y0 * sy));
    const W = Math.min(canvas.width, Math.ceil(x1 * sx)) - X0;
    const H = Math.min(canvas.height, Math.ceil(y1 * sy)) - Y0;
    const data = canvas.getContext("2d").getImageData(X0, Y0, W, H).data;
    let box = null;
    let count = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = 4 * (y * W + x);
        if (Math.abs(data[i] - rgb[0]) > tol || Math.abs(data[i + 1] - rgb[1]) > tol || Math.abs(data[i + 2] - rgb[2]) > tol) continue;
        count += 1;
        if (!box) box = {x0: x, y0: y, x1: x, y1: y};
        box.x0 = Math.min(box.x0, x);
        box.x1 = Math.max(box.x1, x);
        box.y0 = Math.min(box.y0, y);
        box.y1 = Math.max(box.y1, y);
      }
    }
    if (!box) return null;
    return {x0: (X0 + box.x0) / sx, y0: (Y0 + box.y0) / sy, x1: (X0 + box.x1 + 1) / sx, y1: (Y0 + box.y1 + 1) / sy,
      cx: (X0 + (box.x0 + box.x1 + 1) / 2) / sx, cy: (Y0 + (box.y0 + box.y1 + 1) / 2) / sy, count};
  },
  frames(n = 2) {
    return new Promise((resolve) => {
      const step = () => (--n <= 0 ? resolve() : requestAnimationFrame(step));
      requestAnimationFrame(step);
    });
  },
};
window.dispatchEvent(new Event("harness-ready"));
document.body.dataset.ready = "1";
