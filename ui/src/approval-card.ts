// One waiting order as the person judges it: what, how much it is worth, the limits it was
// checked against and the position it adds to. Shown in the approval window (with Approve and
// Reject) and in the main window's list (with a button that opens that window).
import type { ApprovalRequest } from "./bindings";
import { h } from "./dom";
import { money, qty, relative, words } from "./format";

/** "QuantDesk paper account", "Alpaca · live". */
export function venue(broker: string, mode: string): string {
  return broker === "paper" ? "QuantDesk paper account" : `${words(broker)} · ${mode}`;
}

/** "3 GOOG at market", "$500.00 of SPY at $410.00 limit". */
export function orderLine(r: ApprovalRequest): { size: string; price: string } {
  const size = r.qty ? `${qty(r.qty)} ${r.symbol}` : `${money(r.notional)} of ${r.symbol}`;
  const price = r.limit_price ? ` at ${money(r.limit_price)} limit` : r.stop_price ? ` stop ${money(r.stop_price)}` : " at market";
  return { size, price };
}

export function approvalCard(r: ApprovalRequest, footer: (Node | null)[], compact = false): HTMLElement {
  const { size, price } = orderLine(r);
  return h(
    "section",
    { class: `card approval ${compact ? "compact" : ""}`, "data-testid": "approval", "data-order-id": r.client_order_id },
    h(
      "div",
      { class: "approval-head" },
      h("span", { class: `side ${r.side}` }, words(r.side)),
      h("h2", {}, size, h("span", { class: "muted" }, price)),
      h("span", { class: `pill ${r.mode === "live" ? "warn" : ""}` }, venue(r.broker, r.mode)),
    ),
    h(
      "dl",
      { class: `facts ${compact ? "cols" : ""}` },
      h("dt", {}, "Estimated value"), h("dd", { class: "big", "data-testid": "approval-value" }, money(r.estimated_value)),
      h("dt", {}, "Last price"), h("dd", {}, money(r.last_price)),
      h("dt", {}, "Order type"), h("dd", {}, `${words(r.order_type)}, ${r.time_in_force.toUpperCase()}`),
      h("dt", {}, "Current position"), h("dd", { "data-testid": "approval-position" }, r.position ? `${qty(r.position.qty)} shares · ${money(r.position.market_value)}` : "None"),
      h("dt", {}, "Asked"), h("dd", {}, relative(r.created_at)),
      h("dt", {}, "Expires"), h("dd", {}, r.expires_at ? relative(r.expires_at) : "—"),
    ),
    compact
      ? null
      : [
          h("h3", {}, "Checked against your limits"),
          h(
            "ul",
            { class: "checks", "data-testid": "approval-checks" },
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
        ],
    footer,
  );
}
