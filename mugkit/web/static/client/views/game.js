// `game` view: the HUD, the canvas and the keyboard. `frame` messages update the scene; the canvas
// is redrawn on animation frames only while something changed or moves. Input does not depend on
// animation frames (see keyboard.js). The screens around the game (ready, countdown, round over:
// game/screens.js) follow the server's `screen` messages; the last round-over screen holds the
// next view back (`holding`) until it is dismissed or its time is up.

import {el} from "../dom.js";
import {Hud} from "../game/hud.js";
import {ImageStore} from "../game/images.js";
import {Keyboard} from "../game/keyboard.js";
import {Presence} from "../game/monitor.js";
import {Scene} from "../game/scene.js";
import {Screens} from "../game/screens.js";
import {drawShape} from "../game/shapes.js";
import {Stage} from "../game/stage.js";
import {loadSeq, saveSeq} from "../identity.js";

const BACKGROUND = "#000000";

export class GameView {
  constructor(ctx, message) {
    this.ctx = ctx;
    this.message = message;
    this.raf = 0;
    this.background = null;     // the decoded `image` of the latest frame that had one
    this.backgroundUrl = null;
  }

  mount(container) {
    const {game, width = 600, height = 400, fps = 30, keys = [], turn_based: turnBased, you, agents, names, named,
      max_steps: maxSteps} = this.message;
    this.width = width;
    this.height = height;
    this.hud = new Hud({you, agents, keys, turnBased, names, named, maxSteps, fps});
    this.screens = new Screens();
    this.holding = null;   // a Promise while the last round-over screen shows: the app waits with the next view
    const box = el("div", {class: "mk-stage"});
    this.overlay = el("div", {class: "mk-stage-overlay"}, el("span", {}, "Get ready…"));
    this.focusNote = el("div", {class: "mk-focus-note", role: "status", hidden: true},
      "Click the game to keep playing: keys are released while this window is not active.");
    this.root = el("div", {class: "mk-game", dataset: {game}},
      this.hud.element,
      el("div", {class: "mk-stage-wrap", onclick: () => window.focus()}, box, this.overlay, this.screens.element,
        this.focusNote),
      this.hud.keys);
    container.append(this.root);

    this.scene = new Scene({width, height, fps});
    // Sprite images are relative to the experiment: the server serves its folder at /<experiment>/files/.
    this.images = new ImageStore(new URL(`/${encodeURIComponent(this.ctx.experiment)}/files/`, location.href).href,
      () => this.invalidate());
    this.stage = new Stage(box, width, height, (stage) => {
      this.root.style.setProperty("--mk-canvas-w", `${stage.cssW}px`);   // the HUD spans the canvas
      this.root.style.setProperty("--mk-canvas-h", `${stage.cssH}px`);   // the screens cover it
      this.invalidate();
    });
    this.keyboard = new Keyboard({
      game,
      keys,
      send: (message) => this.sendKeys(message),
      seq: loadSeq(this.ctx.experiment, game),
      onseq: (seq) => saveSeq(this.ctx.experiment, game, seq),
    }).start();
    this.onBlur = () => (this.focusNote.hidden = false);
    this.onFocus = () => (this.focusNote.hidden = true);
    window.addEventListener("blur", this.onBlur);
    window.addEventListener("focus", this.onFocus);
    this.focusNote.hidden = document.hasFocus();   // e.g. an MTurk iframe the participant has not clicked yet
    if (this.message.monitor) {   // mk.Monitor: the page reports presence and answers pings (game/monitor.js)
      this.presence = new Presence({game, monitor: this.message.monitor, link: this.ctx.link}).start();
      this.root.prepend(this.presence.element);
    }
    this.invalidate();
    if (this.message.screen) this.screen(this.message.screen);
  }

  /** The step's screen settings: {ready, countdown, round_over}. */
  get settings() {
    return {ready: false, countdown: 0, round_over: 0, ...(this.message.screens || {})};
  }

  /** A server game's `screen` message: what its clock waits for now. */
  async screen(message) {
    if (!message || message.game !== this.message.game) return;
    this.root.dataset.screen = message.screen;
    if (message.screen === "ready") {
      this.overlay.hidden = true;
      if (await this.screens.ready()) this.answer("ready", null, "Waiting for the other players to be ready…");
    } else if (message.screen === "countdown") {
      this.screens.countdown(message.seconds);
    } else if (message.screen === "round_over") {
      if (this.screens.element.dataset.screen !== "round_over") {   // a page that joined meanwhile
        const shown = await this.screens.roundOver({round: this.lastRound, you: this.message.you,
          nameOf: this.hud.nameOf, seconds: message.timeout});
        if (shown) this.answer("round_over", message.episode, "Waiting for the other players…");
      }
    } else {
      this.screens.hide();
    }
  }

  /** Tells the server the participant answered a screen; `waiting` shows until the clock goes on. */
  async answer(screen, episode, waiting) {
    if (this.destroyed) return;
    const others = (this.message.agents || []).length > 1 && this.message.runtime !== "browser";
    if (others) this.screens.waiting(waiting);
    await this.ctx.link.request("ready", {game: this.message.game, screen, episode: episode ?? null});
  }

  /** A frame that ended an episode: the round-over screen (the last one holds the next view). */
  roundOver(round) {
    this.lastRound = round;
    const seconds = this.settings.round_over;
    if (!(seconds > 0)) return null;
    const shown = this.screens.roundOver({round, you: this.message.you, nameOf: this.hud.nameOf, seconds});
    if (round.last) {
      // Cleared only while it is still the hold: a later one (peer_game.js: a partner who left,
      // which hides this screen) must keep the next view back.
      const holding = shown.then(() => {
        if (this.holding === holding) this.holding = null;
      });
      this.holding = holding;
    } else if (this.message.runtime !== "browser") {
      shown.then((answered) => answered && this.answer("round_over", round.episode - 1, "Waiting for the other players…"));
    }
    return shown;
  }

  /** Where key messages go: the server (a browser-runtime game sends them to its worker). */
  sendKeys(message) {
    this.ctx.link.send("keys", message);
  }

  /** A monitor message of the server (game/monitor.js). */
  monitorMessage(event, message) {
    this.presence?.handle(event, message);
  }

  /** A `frame` message of this game. */
  frame(message) {
    if (!message || message.game !== this.message.game) return;
    this.scene.apply(message, performance.now());
    this.hud.update(message);
    // Where the game stands, for the tests and anyone inspecting the page.
    this.root.dataset.episode = message.episode;
    this.root.dataset.frame = message.frame;
    this.overlay.hidden = true;
    if (message.round && typeof message.round === "object") this.roundOver(message.round);
    if (this.scene.image && this.scene.image !== this.backgroundUrl) this.decodeBackground(this.scene.image);
    this.invalidate();
  }

  /** The same view was sent again (a reconnection): the server sends every shape anew, and is
   *  told which keys are held now. */
  again() {
    this.scene.clear();
    this.keyboard.resync();
    this.invalidate();
  }

  decodeBackground(url) {
    this.backgroundUrl = url;
    ImageStore.decode(url).then((img) => {
      if (this.backgroundUrl !== url) return;   // a newer frame's image is on its way
      this.background = img;
      this.invalidate();
    }, () => this.images.warn("image", "a frame's image could not be decoded"));
  }

  invalidate() {
    if (!this.raf && this.stage) this.raf = requestAnimationFrame(() => this.draw());
  }

  draw() {
    this.raf = 0;
    const now = performance.now();
    const ctx = this.stage.begin(BACKGROUND);
    if (this.background) {
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(this.background, 0, 0, this.width, this.height);
    }
    for (const shape of this.scene.shapesAt(now)) {
      let drawn = false;
      try {
        drawn = drawShape(ctx, shape, this.images);
      } catch (err) {
        this.images.warn(`error:${shape?.type}`, `could not draw a ${shape?.type}: ${err.message}`);
        drawn = true;
      }
      if (!drawn) this.images.warn(`type:${shape?.type}`, `cannot draw a shape of type ${JSON.stringify(shape?.type)}`);
    }
    if (this.scene.moving(now)) this.invalidate();
  }

  destroy() {
    this.destroyed = true;
    this.screens?.hide();
    cancelAnimationFrame(this.raf);
    this.raf = 0;
    this.keyboard?.stop();
    this.presence?.stop();
    this.stage?.destroy();
    this.stage = null;
    window.removeEventListener("blur", this.onBlur);
    window.removeEventListener("focus", this.onFocus);
  }
}
