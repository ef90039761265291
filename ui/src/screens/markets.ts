// Live markets: the Watchlist (live prices with a tick highlight and the last hour as a
// sparkline, the stream's state) and Alerts (create, cancel, what fired). Every number comes
// from Rust (quantdesk_desktop::markets); this file only lays it out and refreshes it.
import { api, errorText } from "../api";
import type { AlertsPage, StreamView, WatchRow, Watchlist } from "../bindings";
import { h, mount, toast } from "../dom";
import { time } from "../format";

const REFRESH_MS = 1000;
const last = new Map<string, number>();

function sparkline(raw: (number | null)[]): SVGSVGElement {
  const values = raw.filter((v): v is number => v !== null);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("viewBox", "0 0 120 28");
  svg.setAttribute("data-testid", "sparkline");
  if (values.length > 1) {
    const lo = Math.min(...values);
    const span = Math.max(...values) - lo || 1;
    const points = values.map((v, i) => `${((i / (values.length - 1)) * 120).toFixed(1)},${(26 - ((v - lo) / span) * 24).toFixed(1)}`);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", (values.at(-1) ?? 0) >= (values[0] ?? 0) ? "#1a7f37" : "#cf222e");
    line.setAttribute("stroke-width", "1.5");
    svg.append(line);
  }
  return svg;
}

export function streamLine(s: StreamView): HTMLElement {
  // Crypto trades around the clock: a silent Coinbase feed is stale. Stocks are quiet outside
  // market hours, so Alpaca's silence alone says nothing (each quote carries its own stale mark).
  const quiet = s.source === "coinbase" && s.silent_ms !== null && s.silent_ms > 10_000;
  const state = s.state === "connected" && quiet ? "stale" : s.state;
  const parts = [
    s.source === "coinbase" ? "Coinbase (crypto)" : s.source === "alpaca-stream" ? "Alpaca (stocks)" : s.source,
    state,
    s.part === "owner" ? "this app holds the connection" : s.part === "mirror" ? "shared from another QuantDesk process" : "choosing who connects",
    s.silent_ms !== null ? `last message ${s.silent_ms} ms ago` : null,
    s.reconnects > 0 ? `${s.reconnects} reconnects` : null,
    s.reason,
  ];
  const id = s.source === "coinbase" ? "stream-state" : `stream-state-${s.source}`;
  return h("p", { class: `stream stream-${state}`, "data-testid": id }, parts.filter(Boolean).join(" · "));
}

function row(r: WatchRow, remove: (s: string) => void): HTMLElement {
  const price = r.price === null ? null : Number(r.price);
  const before = last.get(r.symbol);
  const tick = price === null || before === undefined || price === before ? "" : price > before ? "tick-up" : "tick-down";
  if (price !== null) last.set(r.symbol, price);
  return h(
    "tr",
    { "data-testid": `watch-${r.symbol}` },
    h("td", {}, r.symbol),
    h("td", { class: `num ${tick}`, "data-testid": "watch-price" }, r.price ?? "—"),
    h("td", { class: "num" }, r.bid ?? "—"),
    h("td", { class: "num" }, r.ask ?? "—"),
    h("td", {}, sparkline(r.sparkline)),
    h("td", { class: "muted small" }, r.as_of ? time(r.as_of) : "waiting for the stream", r.stale ? h("span", { class: "badge warn" }, "stale") : null),
    h("td", {}, h("button", { class: "btn small", onclick: () => remove(r.symbol) }, "Remove")),
  );
}

export async function renderWatchlist(root: HTMLElement): Promise<void> {
  const body = h("div", { class: "card" });
  const input = h("input", { name: "pairs", placeholder: "BTC/USD, ETH/USD, AAPL", "data-testid": "watch-input" });
  const draw = (w: Watchlist) => {
    const remove = async (symbol: string) => {
      try {
        draw(await api.unwatchPairs([symbol]));
      } catch (e) {
        toast(errorText(e), "error");
      }
    };
    mount(
      body,
      streamLine(w.stream),
      w.stocks_stream ? streamLine(w.stocks_stream) : null,
      w.rows.length === 0
        ? h(
            "p",
            { class: "empty" },
            w.stocks_stream
              ? "Nothing watched yet. Add crypto pairs (Coinbase) or stocks (your Alpaca account) to stream them live."
              : "Nothing watched yet. Add crypto pairs to stream them live (Coinbase, no account needed); link Alpaca to stream stocks too.",
          )
        : h(
            "table",
            { class: "table", "data-testid": "watchlist" },
            h("thead", {}, h("tr", {}, ["Symbol", "Last", "Bid", "Ask", "Last hour", "As of", ""].map((t) => h("th", {}, t)))),
            h("tbody", {}, w.rows.map((r) => row(r, (s) => void remove(s)))),
          ),
    );
  };
  const add = async (ev: Event) => {
    ev.preventDefault();
    const symbols = input.value.split(/[\s,]+/).filter(Boolean);
    if (symbols.length === 0) return;
    try {
      draw(await api.watchPairs(symbols));
      input.value = "";
    } catch (e) {
      toast(errorText(e), "error");
    }
  };
  mount(
    root,
    h("header", { class: "page-head" }, h("h1", {}, "Watchlist")),
    h("form", { class: "filters card", onsubmit: add }, input, h("button", { class: "btn primary", type: "submit", "data-testid": "watch-add" }, "Watch")),
    body,
  );
  draw(await api.watchlist());
  const timer = window.setInterval(async () => {
    if (!root.isConnected || !location.hash.startsWith("#/watchlist")) return window.clearInterval(timer);
    try {
      draw(await api.watchlist());
    } catch {
      /* the next refresh tries again */
    }
  }, REFRESH_MS);
}

export async function renderAlerts(root: HTMLElement): Promise<void> {
  const list = h("div", { class: "card" });
  const err = h("p", { class: "form-error", role: "alert" });
  const symbol = h("input", { name: "symbol", placeholder: "ETH/USD", "data-testid": "alert-symbol" });
  const condition = h("input", { name: "condition", placeholder: "close crosses_below 3000", "data-testid": "alert-condition" });
  const timeframe = h("select", { name: "timeframe", "data-testid": "alert-timeframe" }, ["1Min", "5Min", "15Min", "1Hour", "6Hour", "1Day"].map((t) => h("option", { value: t }, t)));
  const repeat = h("input", { type: "checkbox", name: "repeat" });
  const draw = (p: AlertsPage) => {
    mount(
      list,
      p.note ? h("p", { class: "muted", "data-testid": "alert-note" }, p.note) : null,
      h("h2", {}, "Alerts"),
      p.alerts.length === 0
        ? h("p", { class: "empty" }, "No alerts. Create one above, or ask Claude: \"tell me when ETH drops below 3,000\".")
        : h(
            "table",
            { class: "table", "data-testid": "alerts" },
            h("thead", {}, h("tr", {}, ["Pair", "Condition", "Bars", "Status", "Holds now", ""].map((t) => h("th", {}, t)))),
            h(
              "tbody",
              {},
              p.alerts.map((a) =>
                h(
                  "tr",
                  { "data-testid": `alert-${a.id}` },
                  h("td", {}, a.symbol),
                  h("td", {}, h("code", {}, a.condition)),
                  h("td", {}, a.timeframe, a.repeat ? " · every crossing" : ""),
                  h("td", {}, a.status),
                  h("td", {}, a.holds === null ? "—" : a.holds ? "yes" : "no"),
                  h("td", {}, a.status === "active" ? h("button", { class: "btn small", onclick: async () => draw(await api.cancelAlert(a.id)) }, "Cancel") : null),
                ),
              ),
            ),
          ),
      h("h2", {}, "Fired"),
      p.fired.length === 0
        ? h("p", { class: "empty" }, "Nothing has fired yet.")
        : h(
            "table",
            { class: "table", "data-testid": "fired" },
            h("thead", {}, h("tr", {}, ["When", "Pair", "Condition", "Close", "Bar"].map((t) => h("th", {}, t)))),
            h("tbody", {}, p.fired.map((f) => h("tr", {}, h("td", {}, time(f.fired_at)), h("td", {}, f.symbol), h("td", {}, h("code", {}, f.condition)), h("td", { class: "num" }, f.price), h("td", { class: "muted small" }, time(f.bar_time))))),
          ),
    );
  };
  const create = async (ev: Event) => {
    ev.preventDefault();
    err.textContent = "";
    try {
      draw(await api.createAlert({ symbol: symbol.value, condition: condition.value, timeframe: timeframe.value, repeat: repeat.checked }));
      condition.value = "";
    } catch (e) {
      err.textContent = errorText(e);
    }
  };
  mount(
    root,
    h("header", { class: "page-head" }, h("h1", {}, "Alerts")),
    h("form", { class: "filters card", onsubmit: create }, symbol, condition, timeframe, h("label", { class: "inline" }, repeat, "Every crossing"), h("button", { class: "btn primary", type: "submit", "data-testid": "alert-create" }, "Create alert")),
    err,
    list,
  );
  draw(await api.alertsPage());
}
