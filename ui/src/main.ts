// Entry point of the web view: onboarding on first start, then the app shell (sidebar, kill
// switch always in reach, screens by hash route). It holds no domain logic: every number and
// decision comes from the Rust side.
import "./style.css";
import { isTauri } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import { api, errorText } from "./api";
import type { Decision } from "./bindings";
import { h, mount, toast } from "./dom";
import { renderApprovals } from "./screens/approvals";
import { renderAudit } from "./screens/audit";
import { renderHome } from "./screens/home";
import { renderAlerts, renderWatchlist } from "./screens/markets";
import { logo, renderOnboarding } from "./screens/onboarding";
import { renderSettings } from "./screens/settings";
import { watchUpdates } from "./update";

type Route = "home" | "watchlist" | "alerts" | "approvals" | "audit" | "settings";
const ROUTES: { route: Route; label: string }[] = [
  { route: "home", label: "Home" },
  { route: "watchlist", label: "Watchlist" },
  { route: "alerts", label: "Alerts" },
  { route: "approvals", label: "Approvals" },
  { route: "audit", label: "Audit log" },
  { route: "settings", label: "Settings" },
];

const app = document.querySelector<HTMLElement>("#app")!;
let inShell = false;
let pending = 0;
let kill = false;
let mode = "paper";
/** The last decision made in the approval window, shown on the Approvals screen. */
let lastDecision: Decision | null = null;

function current(): Route {
  const r = location.hash.replace(/^#\/?/, "") as Route;
  return ROUTES.some((x) => x.route === r) ? r : "home";
}

function go(route: string): void {
  if (location.hash !== `#/${route}`) location.hash = `#/${route}`;
  else void draw();
}

async function refreshChrome(): Promise<void> {
  try {
    const s = await api.settings();
    kill = s.kill_switch;
    mode = s.live_trading ? "live" : "paper";
  } catch {
    /* shown on the screens themselves */
  }
  drawChrome();
}

const nav = h("nav", { class: "nav" });
const top = h("div", { class: "topbar" });
const screen = h("main", { class: "screen", id: "screen" });

function drawChrome(): void {
  const r = current();
  mount(
    nav,
    h("div", { class: "brand" }, logo(), h("span", {}, "QuantDesk")),
    ROUTES.map((x) =>
      h(
        "a",
        { href: `#/${x.route}`, class: x.route === r ? "active" : "", "data-testid": `nav-${x.route}` },
        x.label,
        x.route === "approvals" && pending > 0 ? h("span", { class: "badge", "data-testid": "pending-count" }, String(pending)) : null,
      ),
    ),
  );
  mount(
    top,
    h("span", { class: `pill mode ${mode === "live" ? "warn" : ""}`, title: "Which money orders move" }, mode === "live" ? "LIVE TRADING" : "PAPER TRADING"),
    h("span", { class: "grow" }),
    h(
      "button",
      {
        class: `btn kill ${kill ? "on" : ""}`,
        "data-testid": "kill-switch",
        title: kill ? "Trading is stopped. Click to allow orders again." : "Refuse every new order and cancel open ones",
        onclick: async () => {
          if (!kill && !window.confirm("Stop all trading? Every new order is refused and open orders are cancelled.")) return;
          await api.setKillSwitch(!kill);
          await refreshChrome();
          await draw();
        },
      },
      kill ? "■ Kill switch ON — resume trading" : "■ Kill switch",
    ),
  );
}

async function draw(): Promise<void> {
  drawChrome();
  try {
    switch (current()) {
      case "home":
        await renderHome(screen, go);
        break;
      case "watchlist":
        await renderWatchlist(screen);
        break;
      case "alerts":
        await renderAlerts(screen);
        break;
      case "approvals":
        await renderApprovals(screen, lastDecision);
        break;
      case "audit":
        await renderAudit(screen);
        break;
      case "settings":
        await renderSettings(screen, () => void refreshChrome());
        break;
    }
  } catch (e) {
    mount(screen, h("section", { class: "card" }, h("h2", {}, "Something went wrong"), h("p", {}, errorText(e))));
  }
}

async function openShell(): Promise<void> {
  inShell = true;
  mount(app, h("div", { class: "shell" }, nav, h("div", { class: "main" }, top, screen)));
  await refreshChrome();
  await draw();
}

async function start(): Promise<void> {
  if (!isTauri()) {
    mount(app, h("main", { class: "wizard" }, h("section", { class: "card wizard-card" }, logo(), h("h1", {}, "QuantDesk"), h("p", { class: "lead" }, "Preview: open this page inside the QuantDesk app."))));
    return;
  }
  window.addEventListener("hashchange", () => {
    if (inShell) void draw();
  });
  // The approval window (its own window, opened by the shell) is where the person decides;
  // here the badge, Home and the Approvals list follow.
  await listen<number>("approvals-changed", (ev) => {
    pending = ev.payload;
    if (!inShell) return;
    if (current() === "home" || current() === "approvals") void draw();
    else drawChrome();
  });
  await listen<Decision>("approval-decided", (ev) => {
    lastDecision = ev.payload;
    if (!inShell) return;
    toast(ev.payload.message, ev.payload.outcome === "refused" ? "error" : "ok");
    if (current() === "approvals") void draw();
  });
  await watchUpdates();
  await listen("settings-changed", () => {
    if (inShell) void refreshChrome().then(draw);
  });
  await renderOnboarding(app, () => {
    location.hash = "#/home";
    void openShell();
  });
}

void start();
