// Reporting another player to the moderators (issue 6): a "Report" button on the locked target's
// panel opens a small dialog (reason from a fixed list + text); it sends the `report` message
// (docs/protocol.md). Everything shown is literal text (textContent), never markup.

const REASONS = [
  ["griefing", "Griefing"], ["cheating", "Cheating"], ["bot", "Bot / automation"],
  ["harassment", "Harassment"], ["spam", "Spam"], ["illegal_clone", "Illegal clone"],
  ["exploit", "Exploit"], ["other", "Other"],
];

function make(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

/** Add the Report button and dialog; `net.send(obj)` sends a client message. */
export function installReport(net, state) {
  const row = document.querySelector("#hud-target .row");
  if (!row) return null;
  const button = make("button", { id: "btn-report", type: "button", title: "Report this pilot to the moderators", text: "Report" });
  row.append(button);
  const reason = make("select", { id: "report-reason" },
    ...REASONS.map(([v, label]) => make("option", { value: v, text: label })));
  const text = make("textarea", { id: "report-text", maxlength: "1000", rows: "3" });
  const who = make("div", { id: "report-who", class: "sub" });
  const note = make("p", { id: "report-note", class: "sub", role: "status" });
  const send = make("button", { id: "report-send", type: "button", class: "primary", text: "Send report" });
  const cancel = make("button", { id: "report-cancel", type: "button", text: "Cancel" });
  const dialog = make("div", { id: "report-dialog", class: "panel", role: "dialog", "aria-label": "report" },
    make("h3", { text: "Report to the moderators" }), who,
    make("label", { text: "Reason " }, reason), make("label", { text: "What happened " }, text),
    note, make("div", { class: "row" }, send, cancel));
  dialog.hidden = true;
  dialog.style.cssText = "position:fixed;left:50%;top:30%;transform:translateX(-50%);z-index:50;min-width:320px;display:flex;flex-direction:column;gap:6px";
  document.body.append(dialog);
  let target = 0;
  button.addEventListener("click", () => {
    target = state.target;
    if (!target) return;
    who.textContent = `Reporting: ${state.nameOf?.(target) || `ship ${target}`}`;
    note.textContent = "";
    dialog.hidden = false;
  });
  cancel.addEventListener("click", () => { dialog.hidden = true; });
  send.addEventListener("click", () => {
    if (!target) return;
    net.send({ t: "report", kind: "ship", target: String(target), reason: reason.value, text: text.value.slice(0, 1000) });
    note.textContent = "Report sent. Thank you: a moderator will look at it.";
    text.value = "";
    setTimeout(() => { dialog.hidden = true; }, 800);
  });
  // keys typed in the dialog must not fly the ship
  dialog.addEventListener("keydown", (e) => e.stopPropagation());
  return dialog;
}
