// Asks the Rust side who we are (`app_info` command) and shows the version in the badge.
import { invoke, isTauri } from "@tauri-apps/api/core";

/** Mirror of `AppInfo` in src-tauri/src/lib.rs. */
export interface AppInfo {
  name: string;
  version: string;
}

export async function fetchAppInfo(): Promise<AppInfo> {
  return invoke<AppInfo>("app_info");
}

export async function showAppInfo(badge: HTMLElement): Promise<void> {
  if (!isTauri()) {
    // Opened in a plain browser (e.g. `npm run dev`): there is no Rust side to ask.
    badge.textContent = "preview (not running inside the app)";
    badge.dataset.state = "preview";
    return;
  }
  try {
    const info = await fetchAppInfo();
    badge.textContent = `${info.name} v${info.version}`;
    badge.dataset.state = "ready";
  } catch (err) {
    badge.textContent = `could not reach the app: ${String(err)}`;
    badge.dataset.state = "error";
  }
}
