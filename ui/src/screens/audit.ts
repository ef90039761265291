// The audit viewer: every entry, filtered and searched, the chain verified, CSV export.
import { api, errorText } from "../api";
import type { AuditQuery, AuditRow } from "../bindings";
import { h, mount, toast } from "../dom";
import { time, words } from "../format";

let query: AuditQuery = { kind: "", symbol: "", from: "", to: "", search: "", limit: 300 };

export async function renderAudit(root: HTMLElement): Promise<void> {
  const results = h("div", { class: "audit-results" });
  const chain = h("div", { class: "chain", "data-testid": "chain" });
  const kind = h("select", { name: "kind", "data-testid": "audit-kind" }, h("option", { value: "" }, "All kinds"));
  const symbol = h("input", { name: "symbol", placeholder: "Symbol", value: query.symbol, "data-testid": "audit-symbol" });
  const from = h("input", { name: "from", type: "date", value: query.from });
  const to = h("input", { name: "to", type: "date", value: query.to });
  const search = h("input", { name: "search", type: "search", placeholder: "Search words…", value: query.search, "data-testid": "audit-search" });

  const load = async () => {
    query = { ...query, kind: kind.value, symbol: symbol.value, from: from.value, to: to.value, search: search.value };
    try {
      const page = await api.auditPage(query);
      const known = new Set(Array.from(kind.options).map((o) => o.value));
      for (const k of page.kinds) if (!known.has(k)) kind.append(h("option", { value: k }, words(k)));
      kind.value = query.kind;
      mount(
        results,
        h("p", { class: "muted small" }, page.matching > page.rows.length ? `Showing the newest ${page.rows.length} of ${page.matching} entries` : `${page.matching} entries`),
        page.rows.length === 0 ? h("p", { class: "empty" }, "No entries match.") : h("div", { class: "entries", "data-testid": "audit-rows" }, page.rows.map(entry)),
      );
    } catch (e) {
      mount(results, h("p", { class: "form-error" }, errorText(e)));
    }
  };
  let timer = 0;
  const soon = () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void load(), 200);
  };
  for (const el of [kind, from, to]) el.addEventListener("change", () => void load());
  for (const el of [symbol, search]) el.addEventListener("input", soon);

  mount(
    root,
    h(
      "header",
      { class: "page-head" },
      h("h1", {}, "Audit log"),
      h(
        "div",
        { class: "head-actions" },
        h("button", { class: "btn", "data-testid": "verify", onclick: async () => {
          const r = await api.verifyAudit();
          mount(chain, h("span", { class: `chain-badge ${r.intact ? "ok" : "bad"}` }, r.intact ? "✓ Chain intact" : "✕ Chain broken"), h("span", {}, r.message));
        } }, "Verify chain"),
        h("button", { class: "btn", "data-testid": "export", onclick: async () => {
          try {
            const out = await api.exportAuditCsv(query);
            toast(`Exported ${out.rows} entries to ${out.path}`);
          } catch (e) {
            toast(errorText(e), "error");
          }
        } }, "Export CSV"),
      ),
    ),
    chain,
    h("div", { class: "filters card" }, kind, symbol, h("label", { class: "inline" }, "From", from), h("label", { class: "inline" }, "To", to), search),
    results,
  );
  await load();
}

function entry(r: AuditRow): HTMLElement {
  const details = [...r.arguments.map((f) => ({ ...f, name: `argument ${f.name}` })), ...r.details];
  const body = h(
    "dl",
    { class: "facts entry-details" },
    h("dt", {}, "Entry"), h("dd", {}, `#${r.seq}`),
    h("dt", {}, "By"), h("dd", {}, r.actor),
    details.flatMap((f) => [h("dt", {}, words(f.name.replace(/\./g, " "))), h("dd", {}, f.value)]),
  );
  const el = h(
    "details",
    { class: "entry", "data-testid": "audit-row", "data-kind": r.kind, "data-outcome": r.outcome },
    h(
      "summary",
      {},
      h("span", { class: "muted mono" }, time(r.time)),
      h("span", { class: `pill kind-${r.kind}` }, words(r.kind)),
      h("span", { class: "grow" }, r.summary),
      h("span", { class: `outcome ${["ok", "filled", "approved", "allowed", "sent"].includes(r.outcome) ? "ok" : ["error", "refused", "rejected"].includes(r.outcome) ? "bad" : ""}` }, words(r.outcome)),
    ),
    body,
  );
  return el;
}
