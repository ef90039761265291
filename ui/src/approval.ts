// The approval window (its own Tauri window, label `approval`, opened by the shell when an order
// waits): the oldest waiting order with its value, the limits it was checked against and the
// current position. Approve and Reject are the only ways out: the shell will not close this
// window while an order waits, and "Close" appears only once nothing does. Its capability
// grants it exactly pendingApprovals, approve, reject and closeApprovalWindow.
import "./style.css";
import { listen } from "@tauri-apps/api/event";
import { api, errorText } from "./api";
import { approvalCard, orderLine, venue } from "./approval-card";
import type { ApprovalRequest, Decision } from "./bindings";
import { h, mount } from "./dom";
import { words } from "./format";
import { logo } from "./logo";

const root = document.querySelector<HTMLElement>("#approval")!;
/** Busy deciding, or showing what a decision did: changes to the list wait for the person. */
let holding = false;

const ASK = { title: "Approve this order?", sub: "Claude asked QuantDesk to place it. Nothing is sent unless you approve." };
const DONE = { title: "Your decision", sub: "Nothing else waits for you; you can close this window." };

function frame(head: { title: string; sub: string }, count: string | null, ...body: (Node | null)[]): void {
  mount(
    root,
    h(
      "main",
      { class: "approval-window" },
      h(
        "header",
        { class: "approval-title" },
        logo(),
        h("div", { class: "grow" }, h("h1", {}, head.title), h("p", { class: "muted small" }, head.sub)),
        count ? h("span", { class: "pill warn", "data-testid": "approval-count" }, count) : null,
      ),
      body,
    ),
  );
}

function closeButton(err: HTMLElement): HTMLButtonElement {
  return h(
    "button",
    {
      class: "btn primary",
      "data-testid": "approval-close",
      onclick: async () => {
        try {
          // The shell destroys this window (and its web view) once nothing waits.
          await api.closeApprovalWindow();
        } catch (e) {
          err.textContent = errorText(e);
          void draw();
        }
      },
    },
    "Close",
  );
}

function decided(r: ApprovalRequest, d: Decision, left: number): void {
  const err = h("p", { class: "form-error", role: "alert" });
  const good = !(d.outcome === "rejected" || d.outcome === "refused" || d.outcome === "unchanged");
  const { size, price } = orderLine(r);
  frame(
    left > 0 ? { ...DONE, sub: "More orders are waiting for you." } : DONE,
    null,
    h(
      "section",
      { class: "card decided" },
      h("div", { class: `decided-mark ${good ? "ok" : "neutral"}`, "aria-hidden": "true" }, good ? "✓" : "✕"),
      h("h2", {}, `${words(r.side)} ${size}`, h("span", { class: "muted" }, price)),
      h("p", { class: "muted small" }, venue(r.broker, r.mode)),
      h("div", { class: `decision ${good ? "ok" : "neutral"}`, "data-testid": "decision" }, d.message),
      h("p", { class: "muted small" }, "It is in the audit log, with the limits it was checked against."),
    ),
    err,
    h(
      "div",
      { class: "actions" },
      left > 0
        ? h("button", { class: "btn primary", "data-testid": "approval-next", onclick: () => { holding = false; void draw(); } }, `Next order (${left} waiting)`)
        : closeButton(err),
    ),
  );
}

function ask(r: ApprovalRequest, index: number, total: number): void {
  const err = h("p", { class: "form-error", role: "alert" });
  const decide = (fn: (id: string) => Promise<Decision>) => async () => {
    holding = true;
    root.querySelectorAll<HTMLButtonElement>("button").forEach((b) => (b.disabled = true));
    try {
      const d = await fn(r.client_order_id);
      const left = (await api.pendingApprovals()).length;
      decided(r, d, left);
    } catch (e) {
      holding = false;
      err.textContent = errorText(e);
      root.querySelectorAll<HTMLButtonElement>("button").forEach((b) => (b.disabled = false));
    }
  };
  frame(
    ASK,
    total > 1 ? `${index + 1} of ${total} waiting` : null,
    approvalCard(r, [
      err,
      h(
        "div",
        { class: "actions" },
        h("button", { class: "btn danger-outline", "data-testid": "reject", onclick: decide(api.reject) }, "Reject"),
        h("button", { class: "btn primary", "data-testid": "approve", onclick: decide(api.approve) }, "Approve and send"),
      ),
    ]),
  );
}

async function draw(): Promise<void> {
  try {
    const list = await api.pendingApprovals();
    const first = list[0];
    if (!first) {
      const err = h("p", { class: "form-error", role: "alert" });
      frame(DONE, null, h("section", { class: "card" }, h("p", { class: "empty" }, "Nothing is waiting for your approval any more (it was decided elsewhere, or it expired)."), err, h("div", { class: "actions" }, closeButton(err))));
      return;
    }
    ask(first, 0, list.length);
  } catch (e) {
    frame(ASK, null, h("section", { class: "card" }, h("h2", {}, "Something went wrong"), h("p", {}, errorText(e))));
  }
}

async function start(): Promise<void> {
  // Decided elsewhere (another window, `cargo xtask approve`), expired, or a new one arrived.
  await listen<number>("approvals-changed", () => {
    if (!holding) void draw();
  });
  await draw();
}

void start();
