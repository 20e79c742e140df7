// Playback: play/pause, step, jump, scrub, speed. The player only ever changes
// `step` in the state; drawing follows from the step alone.

export class Player {
  /**
   * state : the state store; limits() -> {total, available}: the number of steps
   * of the trace and how many have arrived (playback waits at the edge).
   */
  constructor(state, limits) {
    this.state = state;
    this.limits = limits;
    this.playing = false;
    this.listeners = new Set();
    this.frameRequest = null;
    this.lastTime = 0;
    this.carry = 0;
    this.tick = this.tick.bind(this);
  }

  onChange(listener) {
    this.listeners.add(listener);
  }

  notify() {
    for (const listener of this.listeners) listener(this.playing);
  }

  seek(step) {
    const { total } = this.limits();
    const last = Math.max(0, total - 1);
    this.state.set({ step: Math.min(Math.max(0, Math.round(step)), last) });
  }

  stepBy(delta) {
    this.pause();
    this.seek(this.state.get("step") + delta);
  }

  first() {
    this.pause();
    this.seek(0);
  }

  last() {
    this.pause();
    this.seek(this.limits().total - 1);
  }

  play() {
    const { total } = this.limits();
    if (this.playing || total <= 0) return;
    if (this.state.get("step") >= total - 1) this.seek(0); // replay from the start
    this.playing = true;
    this.lastTime = performance.now();
    this.carry = 0;
    this.frameRequest = requestAnimationFrame(this.tick);
    this.notify();
  }

  pause() {
    if (!this.playing) return;
    this.playing = false;
    this.state.flushUrl();
    if (this.frameRequest !== null) cancelAnimationFrame(this.frameRequest);
    this.frameRequest = null;
    this.notify();
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  tick(now) {
    if (!this.playing) return;
    const elapsed = Math.min(250, now - this.lastTime); // a background tab does not jump ahead
    this.lastTime = now;
    this.carry += (elapsed / 1000) * this.state.get("speed");
    const advance = Math.floor(this.carry);
    if (advance > 0) {
      this.carry -= advance;
      const { total, available } = this.limits();
      const step = this.state.get("step");
      const target = Math.min(step + advance, available - 1, total - 1);
      if (target > step) this.state.set({ step: target }, { deferUrl: true });
      if (target >= total - 1) {
        this.pause();
        return;
      }
    }
    this.frameRequest = requestAnimationFrame(this.tick);
  }
}

/** What each player button does, by its `data-action` (the page's and the notebook's). */
export function playerActions(player) {
  return {
    first: () => player.first(),
    back: () => player.stepBy(-1),
    play: () => player.toggle(),
    forward: () => player.stepBy(1),
    last: () => player.last(),
  };
}

/** Keys: Space play/pause, ←/→ step (Shift: 10), Home/End, PageUp/PageDown jump a stage. */
export function bindKeys(player, jumpStage) {
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    const tag = target && target.tagName;
    const typing = tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || (target && target.isContentEditable);
    // A clicker's PageDown / PageUp jump a stage even from a field (they do nothing in a text
    // field); menus, sliders and text areas keep theirs.
    const page = event.key === "PageDown" || event.key === "PageUp";
    if (typing && !(page && tag === "INPUT" && target.type !== "range")) return; // the scrub bar handles its own keys
    switch (event.key) {
      case " ":
      case "Spacebar":
        if (tag === "BUTTON" && target.dataset.action !== "play") return; // Space activates the focused button
        event.preventDefault();
        player.toggle();
        break;
      case "ArrowRight":
        event.preventDefault();
        player.stepBy(event.shiftKey ? 10 : 1);
        break;
      case "ArrowLeft":
        event.preventDefault();
        player.stepBy(event.shiftKey ? -10 : -1);
        break;
      case "Home":
        event.preventDefault();
        player.first();
        break;
      case "End":
        event.preventDefault();
        player.last();
        break;
      case "PageDown":
        event.preventDefault();
        jumpStage(+1);
        break;
      case "PageUp":
        event.preventDefault();
        jumpStage(-1);
        break;
      default:
    }
  });
}
