// The player's keys after any click. A teacher clicks an operation, a tab or a
// button with the mouse, then drives the player with the arrow keys, Space or a
// presenter clicker (PageDown / PageUp / → / ← / Space). A control keeps the
// focus a click gave it, and a focused radio, tab or button takes those keys for
// itself; so after a pointer click on a control (not a field the user types in)
// the focus goes back to the stage area, which hands every key to the player.
// Keyboard users keep the native behaviour: a control activated from the
// keyboard (click with detail 0) keeps its focus.

const TYPED = new Set(["text", "number", "search", "email", "url", "tel", "password"]);

/** True for an element the user types into (its arrows move a caret). */
export function isTypingTarget(element) {
  if (!element) return false;
  if (element.isContentEditable || element.tagName === "TEXTAREA") return true;
  return element.tagName === "INPUT" && TYPED.has(element.type);
}

/** Hand the keys to `stage` (a focusable element, tabindex -1) after pointer clicks on controls. */
export function bindKeyHandback(stage) {
  let pressed = null; // the element under the last pointer press
  document.addEventListener("pointerdown", (event) => {
    pressed = event.target;
  }, true);

  function toStage() {
    const active = document.activeElement;
    if (isTypingTarget(active) || active === stage) return;
    stage.focus({ preventScroll: true });
  }

  function handBack() {
    toStage(); // now, so a key pressed right after the click already reaches the player
    setTimeout(toStage, 0); // and after the click's default action (a label focuses its control)
  }

  document.addEventListener("click", (event) => {
    if (event.detail === 0) return; // Enter or Space on a focused control: a keyboard user
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const control = target.closest('button, [role="tab"], input[type="radio"], input[type="checkbox"], summary, label');
    if (!control) return;
    if (control.tagName === "LABEL") {
      const field = control.control;
      if (field && (isTypingTarget(field) || field.tagName === "SELECT")) return; // the user means to type or choose
    }
    handBack();
  });

  // A menu or slider changed with the pointer: back to the stage once it has its value.
  document.addEventListener("change", (event) => {
    const element = event.target;
    if (!(element instanceof Element) || !pressed) return;
    const pointed = element === pressed || element.contains(pressed) ||
      (element.tagName === "SELECT" && pressed.closest && pressed.closest("select") === element);
    if (pointed && (element.tagName === "SELECT" || element.type === "range")) handBack();
  });
}
