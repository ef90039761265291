// Number and time formatting. Values arrive as exact decimal text; they are only formatted here.
/** Exact decimal text, e.g. "100000" or "-12.34" (a `Money` in crates/desktop/src/views.rs). */
type Money = string;

const usd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
const usdWhole = new Intl.NumberFormat("en-US", {
  style: "currency",
  currency: "USD",
  maximumFractionDigits: 0,
});
const plain = new Intl.NumberFormat("en-US", { maximumFractionDigits: 6 });

export function money(m: Money | null | undefined, whole = false): string {
  if (m === null || m === undefined || m === "") return "—";
  const n = Number(m);
  if (!Number.isFinite(n)) return m;
  return (whole ? usdWhole : usd).format(n);
}

/** +$12.30 / −$4.00, for P&L. */
export function signedMoney(m: Money | null | undefined): string {
  if (m === null || m === undefined || m === "") return "—";
  const n = Number(m);
  if (!Number.isFinite(n)) return m;
  const s = usd.format(Math.abs(n));
  return n > 0 ? `+${s}` : n < 0 ? `−${s}` : s;
}

export function tone(m: Money | null | undefined): "up" | "down" | "flat" {
  const n = Number(m ?? 0);
  return n > 0 ? "up" : n < 0 ? "down" : "flat";
}

export function qty(m: Money | null | undefined): string {
  if (m === null || m === undefined || m === "") return "—";
  const n = Number(m);
  return Number.isFinite(n) ? plain.format(n) : m;
}

export function time(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

export function relative(iso: string): string {
  const s = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  const abs = Math.abs(s);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  if (abs < 60) return rtf.format(s, "second");
  if (abs < 3600) return rtf.format(Math.round(s / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(s / 3600), "hour");
  return rtf.format(Math.round(s / 86400), "day");
}

export function words(snake: string): string {
  const t = snake.replace(/_/g, " ");
  return t.charAt(0).toUpperCase() + t.slice(1);
}

export function day(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}
