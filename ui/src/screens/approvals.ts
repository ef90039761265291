// Approvals: each waiting order with its value, the limits it was checked against and the
// current position. Approve and Reject are the only ways out.
import { api, errorText } from "../api";
import type { ApprovalRequest, Decision } from "../bindings";
import { h, mount } from "../dom";
import { money, qty, relative, words } from "../format";
import { empty, venue } from "./home";

export async function renderApprovals(root: HTMLElement, onDecided: () => void, last?: Decision): Promise<void> {
  const list = await api.pendingApprovals();
  mount(
    root,
    h("header", { class: "page-head" }, h("h1", {}, "Approvals")),
    last
      ? h(
          "div",
          { class: `decision ${last.outcome === "rejected" || last.outcome === "refused" ? "neutral" : "ok"}`, "data-testid": "decision" },
          last.message,
        )
      : null,
    list.length === 0
      ? h("section", { class: "card" }, empty("No orders are waiting for you. When Claude places one that needs your approval, it appears here and you get a notification."))
      : list.map((r) => card(r, root, onDecided)),
  );
}

function card(r: ApprovalRequest, root: HTMLElement, onDecided: () => void): HTMLElement {
  const size = r.qty ? `${qty(r.qty)} ${r.symbol}` : `${money(r.notional)} of ${r.symbol}`;
  const price = r.limit_price ? ` at ${money(r.limit_price)} limit` : r.stop_price ? ` stop ${money(r.stop_price)}` : " at market";
  const err = h("p", { class: "form-error", role: "alert" });
  const decide = (fn: (id: string) => Promise<Decision>) => async (ev: Event) => {
    const buttons = root.querySelectorAll<HTMLButtonElement>(".approval button");
    buttons.forEach((b) => (b.disabled = true));
    try {
      const d = await fn(r.client_order_id);
      onDecided();
      await renderApprovals(root, onDecided, d);
    } catch (e) {
      err.textContent = errorText(e);
      buttons.forEach((b) => (b.disabled = false));
    }
    ev.preventDefault();
  };
  return h(
    "section",
    { class: "card approval", "data-testid": "approval", "data-order-id": r.client_order_id },
    h(
      "div",
      { class: "approval-head" },
      h("span", { class: `side ${r.side}` }, words(r.side)),
      h("h2", {}, size, h("span", { class: "muted" }, price)),
      h("span", { class: `pill ${r.mode === "live" ? "warn" : ""}` }, venue(r.broker, r.mode)),
    ),
    h(
      "dl",
      { class: "facts cols" },
      h("dt", {}, "Estimated value"), h("dd", { class: "big", "data-testid": "approval-value" }, money(r.estimated_value)),
      h("dt", {}, "Last price"), h("dd", {}, money(r.last_price)),
      h("dt", {}, "Order type"), h("dd", {}, `${words(r.order_type)}, ${r.time_in_force.toUpperCase()}`),
      h("dt", {}, "Current position"), h("dd", {}, r.position ? `${qty(r.position.qty)} shares · ${money(r.position.market_value)}` : "None"),
      h("dt", {}, "Asked"), h("dd", {}, relative(r.created_at)),
      h("dt", {}, "Expires"), h("dd", {}, r.expires_at ? relative(r.expires_at) : "—"),
    ),
    h("h3", {}, "Your limits"),
    h(
      "ul",
      { class: "checks" },
      r.checks.map((c) =>
        h(
          "li",
          { class: c.within ? "ok" : "bad" },
          h("span", { class: "mark" }, c.within ? "✓" : "✕"),
          h("span", { class: "grow" }, c.name),
          h("span", { class: "muted" }, c.this_order ? `${c.this_order} · limit ${c.limit}` : c.limit),
        ),
      ),
    ),
    h("p", { class: "muted small" }, "The limits are checked again, at the current price, the moment you approve."),
    err,
    h(
      "div",
      { class: "actions" },
      h("button", { class: "btn danger-outline", "data-testid": "reject", onclick: decide(api.reject) }, "Reject"),
      h("button", { class: "btn primary", "data-testid": "approve", onclick: decide(api.approve) }, "Approve and send"),
    ),
  );
}
