// Home: the screen a person glances at to know all is well.
import { api, errorText } from "../api";
import type { Home } from "../bindings";
import { h, mount } from "../dom";
import { day, money, qty, relative, signedMoney, tone, words } from "../format";
import { venue } from "../approval-card";

export async function renderHome(root: HTMLElement, go: (route: string) => void): Promise<void> {
  const d: Home = await api.home();
  const a = d.account;
  const loss = d.daily_loss;
  const used = Math.max(0, Math.min(1, loss.used ?? 0));
  const meter = h("div", { class: "meter" }, h("div", { class: `meter-fill ${used > 0.75 ? "hot" : ""}` }));
  meter.style.setProperty("--used", String(used));

  mount(
    root,
    h(
      "header",
      { class: "page-head" },
      h("h1", {}, "Home"),
      h("span", { class: "muted" }, a ? `Prices as of ${day(a.as_of)}` : ""),
    ),
    d.settings_problem
      ? h("div", { class: "banner danger", "data-testid": "home-settings-problem" },
          h("strong", {}, d.settings_problem))
      : null,
    h("p", { class: `muted ${d.store_encrypted ? "" : "attention"}`, "data-testid": "home-at-rest" },
      `Desk data on this computer: ${d.store_at_rest}.`),
    d.pending_approvals.length > 0
      ? h(
          "button",
          {
            class: "banner",
            "data-testid": "home-pending",
            // The approval window, where the person decides; the list if it cannot open.
            onclick: async () => {
              if (!(await api.openApprovalWindow().catch(() => false))) go("approvals");
            },
          },
          h("strong", {}, `${d.pending_approvals.length} order${d.pending_approvals.length > 1 ? "s" : ""} waiting for your approval`),
          h("span", {}, "Review →"),
        )
      : null,
    h(
      "div",
      { class: "tiles" },
      tile("Account value", money(a?.equity), d.account_problem ?? venue(d.broker, d.mode), "equity"),
      tile("Cash", money(a?.cash), a ? `Buying power ${money(a.buying_power, true)}` : ""),
      h(
        "div",
        { class: "tile" },
        h("span", { class: "tile-label" }, "Today's P&L"),
        h("span", { class: `tile-value ${tone(loss.today_pnl)}`, "data-testid": "today-pnl" }, loss.today_pnl === null ? "$0.00" : signedMoney(loss.today_pnl)),
        loss.limit === null
          ? h("span", { class: "tile-sub" }, "No daily-loss limit")
          : h(
              "div",
              { class: "tile-sub" },
              meter,
              h("span", { "data-testid": "room-left" }, `${money(loss.room_left)} of ${money(loss.limit, true)} loss room left today`),
            ),
      ),
      h(
        "div",
        { class: `tile ${d.claude.connected ? "" : "attention"}` },
        h("span", { class: "tile-label" }, "Claude Desktop"),
        h("span", { class: `tile-value small ${d.claude.connected ? "up" : "flat"}`, "data-testid": "home-claude" }, d.claude.connected ? "Connected" : "Not connected"),
        d.claude.connected
          ? h("span", { class: "tile-sub" }, d.kill_switch ? "Kill switch is ON" : "Ready for your questions",
              d.claude.can_restart ? restartButton() : null)
          : h("button", { class: "btn small", onclick: async () => {
              await api.connectClaude();
              await renderHome(root, go);
            } }, "Connect"),
      ),
    ),
    h(
      "div",
      { class: "grid-2" },
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Positions"),
        d.positions.length === 0
          ? empty("No positions yet. Ask Claude to buy something in your paper account.")
          : h(
              "table",
              { class: "table numbers", "data-testid": "positions" },
              h("thead", {}, h("tr", {}, h("th", {}, "Symbol"), h("th", {}, "Qty"), h("th", {}, "Avg cost"), h("th", {}, "Price"), h("th", {}, "Value"), h("th", {}, "P&L"))),
              h("tbody", {}, d.positions.map((p) =>
                h(
                  "tr",
                  {},
                  h("td", { class: "sym" }, p.symbol),
                  h("td", {}, qty(p.qty)),
                  h("td", {}, money(p.avg_entry_price)),
                  h("td", {}, money(p.current_price)),
                  h("td", {}, money(p.market_value)),
                  h("td", { class: tone(p.unrealized_pnl) }, signedMoney(p.unrealized_pnl)),
                ),
              )),
            ),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Open orders"),
        d.open_orders.length === 0
          ? empty("No open orders.")
          : h(
              "table",
              { class: "table numbers" },
              h("thead", {}, h("tr", {}, h("th", {}, "Symbol"), h("th", {}, "Side"), h("th", {}, "Type"), h("th", {}, "Qty"), h("th", {}, "Limit"), h("th", {}, "Status"))),
              h("tbody", {}, d.open_orders.map((o) =>
                h(
                  "tr",
                  {},
                  h("td", { class: "sym" }, o.symbol),
                  h("td", {}, words(o.side)),
                  h("td", {}, words(o.order_type)),
                  h("td", {}, o.qty ? qty(o.qty) : money(o.notional)),
                  h("td", {}, money(o.limit_price ?? o.stop_price)),
                  h("td", {}, h("span", { class: "pill" }, words(o.status))),
                ),
              )),
            ),
      ),
    ),
    h(
      "section",
      { class: "card" },
      h("div", { class: "card-head" }, h("h2", {}, "Claude's last tool calls"), h("button", { class: "link", onclick: () => go("audit") }, "Open the audit log →")),
      d.recent_tool_calls.length === 0
        ? empty("Nothing yet. Once Claude Desktop is connected, every tool call shows up here.")
        : h(
            "ul",
            { class: "calls" },
            d.recent_tool_calls.map((c) =>
              h(
                "li",
                {},
                h("span", { class: `dot-status ${c.outcome === "ok" ? "ok" : "bad"}` }),
                h("code", {}, c.tool),
                h("span", { class: "grow" }, c.summary),
                h("span", { class: "muted small" }, relative(c.time)),
              ),
            ),
          ),
    ),
  );
}

function tile(label: string, value: string, sub: string, testid?: string): HTMLElement {
  return h(
    "div",
    { class: "tile" },
    h("span", { class: "tile-label" }, label),
    h("span", { class: "tile-value", "data-testid": testid }, value),
    h("span", { class: "tile-sub" }, sub),
  );
}

/** A small "Restart Claude" link-button; the outcome (or why not) replaces it. */
function restartButton(): HTMLElement {
  const err = h("span", { class: "form-error" });
  const wrap = h("span", {});
  wrap.append(
    h("button", { class: "link small", "data-testid": "home-restart-claude", onclick: async () => {
      wrap.replaceChildren("Restarting Claude Desktop…");
      try {
        wrap.replaceChildren((await api.restartClaude()).message);
      } catch (e) {
        err.textContent = errorText(e);
        wrap.replaceChildren(err);
      }
    } }, "Restart Claude Desktop"),
  );
  return wrap;
}

export function empty(text: string): HTMLElement {
  return h("p", { class: "empty" }, text);
}
