// The HUD's optional panels (the crew, the shared ship) show when they have something to say
// and get out of the way otherwise: flying alone with no crew, neither covers the view. Each
// collapses to a chip in the connection panel; a click on the chip opens or shuts it by hand,
// and that choice holds until the panel's relevance changes (a crew member hired, an
// invitation, docking at a station with candidates).

export class OptionalPanel {
  /** root: the panel; chip: its button; relevant(): whether it has something to show now. */
  constructor(root, chip, relevant) {
    this.root = root;
    this.chip = chip;
    this.relevant = relevant;
    this.manual = null; // true / false: the player's choice; null: follow relevance
    this.wasRelevant = false;
    this.onAttention = null; // (panel): it just became relevant (the phone's ☰ gets a badge)
    chip.addEventListener("click", () => {
      this.manual = !this.open;
      this.update();
    });
  }

  get open() {
    return !this.root.classList.contains("collapsed-away");
  }

  /** Re-decide (called ~10 times a second). */
  update() {
    const rel = !!this.relevant();
    if (rel !== this.wasRelevant) {
      this.wasRelevant = rel;
      this.manual = null; // something changed: relevance decides again
      if (rel) this.onAttention?.(this);
    }
    const open = this.manual ?? rel;
    if (this.open !== open) this.root.classList.toggle("collapsed-away", !open);
    this.chip.setAttribute("aria-expanded", String(open));
    this.chip.classList.toggle("attention", rel && !open);
  }
}
