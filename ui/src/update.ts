// The update offer: when the Rust side finds a newer signed release (on start or from the tray's
// "Check for updates…"), a card shows what's new; "Install and restart" downloads it with a
// progress bar, and the app restarts into the new version (the sidecar comes with it). The
// Rust side refuses while an order waits for approval and says so here. No logic lives here:
// checking, verifying the signature and installing are src-tauri/src/updater.rs.
import { listen } from "@tauri-apps/api/event";
import { api, errorText } from "./api";
// The payloads of `update-available` / `checkForUpdate` and of `update-progress`, generated from
// crates/desktop/src/update.rs with the commands.
import type { UpdateInfo, UpdateProgress } from "./bindings";
import { h, mount } from "./dom";

const panel = h("aside", { class: "card update-panel hidden", role: "dialog", "aria-label": "Update available", "data-testid": "update-panel" });

function megabytes(n: number): string {
  return `${(n / 1_000_000).toFixed(1)} MB`;
}

function show(info: UpdateInfo): void {
  const error = h("p", { class: "form-error", role: "alert" });
  const fill = h("div", { class: "meter-fill" });
  const meter = h("div", { class: "meter hidden" }, fill);
  const status = h("p", { class: "muted small" });
  const install = h(
    "button",
    {
      class: "btn primary",
      "data-testid": "update-install",
      onclick: async () => {
        install.disabled = true;
        later.disabled = true;
        error.textContent = "";
        meter.classList.remove("hidden");
        status.textContent = "Downloading…";
        try {
          // On success the app restarts and this page goes away.
          await api.installUpdate();
        } catch (e) {
          error.textContent = errorText(e);
          meter.classList.add("hidden");
          status.textContent = "";
          install.disabled = false;
          later.disabled = false;
        }
      },
    },
    "Install and restart",
  );
  const later = h("button", { class: "btn", onclick: () => panel.classList.add("hidden") }, "Later");
  progress = (p) => {
    const used = p.total ? Math.min(1, p.downloaded / p.total) : 0;
    fill.style.setProperty("--used", String(used));
    status.textContent = p.total
      ? `Downloading… ${megabytes(p.downloaded)} of ${megabytes(p.total)}`
      : `Downloading… ${megabytes(p.downloaded)}`;
    if (p.total && p.downloaded >= p.total) status.textContent = "Verifying the signature and installing…";
  };
  mount(
    panel,
    h("h2", {}, `QuantDesk ${info.version} is available`),
    h("p", { class: "muted small" }, `You have ${info.current_version}.${info.date ? ` Released ${info.date.slice(0, 10)}.` : ""}`),
    h("h3", {}, "What's new"),
    h("p", { class: "update-notes", "data-testid": "update-notes" }, info.notes || "Improvements and fixes."),
    meter,
    status,
    error,
    h("div", { class: "actions" }, later, install),
  );
  panel.classList.remove("hidden");
}

let progress: (p: UpdateProgress) => void = () => {};

/** Starts listening for update offers and download progress. */
export async function watchUpdates(): Promise<void> {
  document.body.append(panel);
  await listen<UpdateInfo>("update-available", (ev) => show(ev.payload));
  await listen<UpdateProgress>("update-progress", (ev) => progress(ev.payload));
}

/** "Check for updates" from a screen: shows the offer, or says this is the latest. */
export async function checkForUpdates(): Promise<string> {
  const info = await api.checkForUpdate();
  if (info) {
    show(info);
    return `QuantDesk ${info.version} is available.`;
  }
  return "You have the latest version of QuantDesk.";
}
