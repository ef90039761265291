// Calls into the Rust side. The commands' typed wrappers and every type they take or return are
// generated from Rust into bindings.ts (tauri-specta); this file only re-exports them and reads
// the error a failed command rejects with.
import { commands } from "./bindings";
import type { UiError } from "./bindings";

export type { AppInfo } from "./bindings";

/** Every command, typed: `api.home()`, `api.approve(id)`, … A failed command rejects with a
 * `UiError`. */
export const api = commands;

/** The sentence of a failed command (a UiError from Rust, or anything else). */
export function errorText(err: unknown): string {
  if (err && typeof err === "object" && "message" in err) return String((err as UiError).message);
  return String(err);
}

export function errorField(err: unknown): string | null {
  if (err && typeof err === "object" && "field" in err) return (err as UiError).field;
  return null;
}
