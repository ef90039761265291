// Settings: limits, approval policy, scopes, live trading, kill switch, brokers, data folder.
import { api, errorField, errorText } from "../api";
import type { ApprovalForm, LimitsForm, Settings } from "../bindings";
import { browserSignIn } from "../browser-signin";
import { h, mount, toast } from "../dom";

type MoneyField = Exclude<keyof LimitsForm, "market_hours_only" | "allow_short_selling">;

const LIMIT_FIELDS: { key: MoneyField; label: string; unit: string; help: string }[] = [
  { key: "max_order_value", label: "Max order value", unit: "$", help: "No single order may be worth more than this." },
  { key: "max_position_value", label: "Max position value", unit: "$", help: "One symbol's position, counting open orders, stays below this." },
  { key: "max_position_pct_of_equity", label: "Max share of account", unit: "%", help: "One symbol never grows past this share of your account." },
  { key: "max_daily_loss", label: "Max daily loss", unit: "$", help: "After losing this much today, only orders that reduce risk go through." },
  { key: "max_orders_per_minute", label: "Max orders per minute", unit: "#", help: "Stops runaway loops of orders." },
  { key: "price_collar_pct", label: "Price collar", unit: "%", help: "Limit and stop prices must be this close to the last price." },
  { key: "blocked_symbols", label: "Blocked symbols", unit: "", help: "Never trade these (comma-separated)." },
  { key: "allowed_symbols", label: "Only these symbols", unit: "", help: "If set, trade nothing else. Empty means any symbol." },
];

/** The platform this app signs in at (and fetches revocations and updates from). */
function platformRow(): HTMLElement {
  const input = h("input", { name: "platform_url", spellcheck: "false", placeholder: "https://quantdesk.app", "data-testid": "platform-url" });
  void api.platformUrl().then((u) => (input.value = u)).catch(() => {});
  const err = h("p", { class: "form-error", role: "alert" });
  return h(
    "div",
    { class: "switch-row" },
    h("label", { class: "field grow" }, h("span", {}, "QuantDesk platform"), input),
    h("button", { class: "btn", onclick: async () => {
      try {
        input.value = await api.setPlatformUrl(input.value);
        err.textContent = "";
        toast("Platform saved.");
      } catch (e) {
        err.textContent = errorText(e);
      }
    } }, "Save"),
    err,
  );
}

/** The limits form (shared with onboarding). Empty money fields switch a limit off. */
export function limitsFields(form: LimitsForm): { element: HTMLElement; read: () => LimitsForm } {
  const inputs = new Map<MoneyField, HTMLInputElement>();
  const rows = LIMIT_FIELDS.map((f) => {
    const input = h("input", {
      name: f.key,
      value: form[f.key],
      inputmode: f.unit === "" ? "text" : "decimal",
      placeholder: f.unit === "" ? "none" : "off",
      "data-testid": `limit-${f.key}`,
    });
    inputs.set(f.key, input);
    return h(
      "label",
      { class: "limit" },
      h("span", { class: "limit-name" }, f.label),
      h("span", { class: `input-unit unit-${f.unit === "$" ? "dollar" : f.unit === "%" ? "pct" : "none"}` }, input),
      h("small", {}, f.help),
    );
  });
  const hours = h("input", { type: "checkbox", name: "market_hours_only", checked: form.market_hours_only });
  const shorts = h("input", { type: "checkbox", name: "allow_short_selling", checked: form.allow_short_selling });
  const element = h(
    "div",
    { class: "limits" },
    rows,
    h("label", { class: "check" }, hours, h("span", {}, "Only trade while the market is open")),
    h("label", { class: "check" }, shorts, h("span", {}, "Allow short selling")),
  );
  const read = (): LimitsForm => {
    const v = (k: MoneyField) => inputs.get(k)?.value ?? "";
    return {
      max_order_value: v("max_order_value"),
      max_position_value: v("max_position_value"),
      max_position_pct_of_equity: v("max_position_pct_of_equity"),
      max_daily_loss: v("max_daily_loss"),
      max_orders_per_minute: v("max_orders_per_minute"),
      price_collar_pct: v("price_collar_pct"),
      allowed_symbols: v("allowed_symbols"),
      blocked_symbols: v("blocked_symbols"),
      market_hours_only: hours.checked,
      allow_short_selling: shorts.checked,
    };
  };
  return { element, read };
}

const POLICIES: { policy: string; label: string; help: string }[] = [
  { policy: "live_only", label: "Live orders only", help: "Paper orders go straight through; every live order waits for you." },
  { policy: "always", label: "Every order", help: "Nothing is sent until you click Approve." },
  { policy: "above_value", label: "Orders above a value", help: "Small orders go through; larger ones wait for you." },
  { policy: "never", label: "Never", help: "Orders inside your limits go straight through." },
];

export function policyChoices(form: ApprovalForm): { element: HTMLElement; read: () => ApprovalForm } {
  const value = h("input", { name: "approval_value", value: form.value, inputmode: "decimal", placeholder: "500" });
  const radios = POLICIES.map((p) =>
    h("input", { type: "radio", name: "approval_policy", value: p.policy, checked: p.policy === form.policy, "data-testid": `policy-${p.policy}` }),
  );
  const element = h(
    "div",
    { class: "policies" },
    POLICIES.map((p, i) =>
      h(
        "label",
        { class: "policy" },
        radios[i] ?? null,
        h("span", {}, h("strong", {}, p.label), h("small", {}, p.help)),
        p.policy === "above_value" ? h("span", { class: "input-unit unit-dollar" }, value) : null,
      ),
    ),
  );
  const read = (): ApprovalForm => ({
    policy: radios.find((r) => r.checked)?.value ?? "live_only",
    value: value.value,
  });
  return { element, read };
}

export async function renderSettings(root: HTMLElement, onChange: () => void): Promise<void> {
  const s: Settings = await api.settings();
  const refresh = async () => {
    await renderSettings(root, onChange);
    onChange();
  };
  const err = h("p", { class: "form-error", role: "alert" });
  const fail = (e: unknown) => {
    err.textContent = errorText(e);
    toast(errorText(e), "error");
    const f = errorField(e);
    if (f) root.querySelector<HTMLElement>(`[name="${f}"]`)?.focus();
  };
  const limits = limitsFields(s.limits);
  const policy = policyChoices(s.approval);

  const scopeBoxes = s.scopes.map((sc) =>
    h(
      "label",
      { class: `check ${sc.granted ? "" : "disabled"}` },
      h("input", { type: "checkbox", value: sc.name, checked: sc.enabled, disabled: !sc.granted }),
      h("span", {}, sc.label, sc.granted ? null : h("em", { class: "muted" }, " — not in your plan")),
    ),
  );

  const id = s.identity;
  const keyInput = h("input", { name: "api_key", type: "password", autocomplete: "off", spellcheck: "false", placeholder: "qdk_…" });
  const account = h(
    "section",
    { class: "card" },
    h("h2", {}, "Account"),
    id.problem ? h("p", { class: "form-error" }, id.problem) : null,
    id.guest
      ? h("p", { class: "muted" }, "Guest mode: market data, analysis, backtests and paper trading. Sign in with your QuantDesk API key for everything your plan includes.")
      : h("dl", { class: "facts" }, h("dt", {}, "Account"), h("dd", {}, id.account_id ?? "—"), h("dt", {}, "Key"), h("dd", {}, h("code", {}, id.key_id ?? "—"))),
    h(
      "div",
      { class: "switch-row" },
      h("label", { class: "field grow" }, h("span", {}, id.guest ? "API key" : "Replace the key"), keyInput),
      h("button", { class: "btn", onclick: async () => {
        try {
          await api.signIn(keyInput.value);
          keyInput.value = "";
          toast("Signed in. The key is in the system keychain.");
          await refresh();
        } catch (e) {
          fail(e);
        }
      } }, "Sign in"),
      id.guest ? null : h("button", { class: "btn danger-outline", "data-testid": "sign-out", onclick: async () => {
        try {
          const out = await api.signOut();
          toast(out.message);
          await refresh();
        } catch (e) {
          fail(e);
        }
      } }, "Sign out"),
    ),
    id.guest || id.problem ? browserSignIn(async () => {
      toast("Signed in with your browser. The key is in the system keychain.");
      await refresh();
    }) : h("p", { class: "muted", "data-testid": "key-scopes" }, "This key allows: ", id.scopes.join(", ")),
    platformRow(),
  );

  const alpacaKey = h("input", { name: "alpaca_key_id", autocomplete: "off", spellcheck: "false", placeholder: "Key ID" });
  const alpacaSecret = h("input", { name: "alpaca_secret", type: "password", autocomplete: "off", placeholder: "Secret key" });
  const alpacaLive = h("input", { type: "checkbox" });
  const addAlpaca = s.brokers.some((b) => b.name === "alpaca")
    ? null
    : h(
        "div",
        { class: "add-broker" },
        h("h3", {}, "Link Alpaca"),
        h("div", { class: "filters" }, alpacaKey, alpacaSecret, h("label", { class: "check" }, alpacaLive, h("span", {}, "Live account")),
          h("button", { class: "btn", onclick: async () => {
            try {
              await api.linkAlpaca({ key_id: alpacaKey.value, secret: alpacaSecret.value, live: alpacaLive.checked });
              alpacaSecret.value = "";
              toast("Alpaca linked. The key is in the system keychain.");
              await refresh();
            } catch (e) {
              fail(e);
            }
          } }, "Check and link"),
        ),
      );

  mount(
    root,
    h("header", { class: "page-head" }, h("h1", {}, "Settings")),
    account,
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Limits"),
      h("p", { class: "muted" }, "Checked before any order leaves this computer. Leave a field empty to switch that limit off."),
      limits.element,
      h("h2", {}, "Approvals"),
      policy.element,
      err,
      h(
        "div",
        { class: "actions" },
        h("button", { class: "btn primary", "data-testid": "save-settings", onclick: async () => {
          try {
            await api.saveLimits(limits.read());
            await api.saveApprovalPolicy(policy.read());
            toast("Saved. The change is in the audit log.");
            await refresh();
          } catch (e) {
            fail(e);
          }
        } }, "Save limits and approvals"),
      ),
    ),
    h(
      "section",
      { class: "card danger-zone" },
      h("h2", {}, "Trading"),
      h(
        "div",
        { class: "switch-row" },
        h("div", {}, h("strong", {}, "Kill switch"), h("p", { class: "muted" }, "Refuses every new order and cancels open and pending ones.")),
        h("button", { class: `btn ${s.kill_switch ? "primary" : "danger"}`, onclick: async () => {
          await api.setKillSwitch(!s.kill_switch);
          await refresh();
        } }, s.kill_switch ? "Turn off" : "Stop all trading"),
      ),
      h(
        "div",
        { class: "switch-row" },
        h(
          "div",
          {},
          h("strong", {}, "Live trading"),
          h("p", { class: "muted" }, s.live_trading ? "On: orders to a live account move real money." : "Off: only paper orders are allowed."),
        ),
        h("button", { class: `btn ${s.live_trading ? "" : "danger"}`, "data-testid": "live-toggle", onclick: async () => {
          try {
            if (!s.live_trading) {
              const ok = window.confirm("Turn on live trading? Orders to a live broker will move real money, inside your limits.");
              if (!ok) return;
              await api.setLiveTrading(true, true);
            } else {
              await api.setLiveTrading(false, false);
            }
            await refresh();
          } catch (e) {
            fail(e);
          }
        } }, s.live_trading ? "Turn off" : "Turn on…"),
      ),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "What Claude may do"),
      h("p", { class: "muted" }, "Narrow what your key allows. You can only remove permissions here, never add them."),
      h("div", { class: "scopes" }, scopeBoxes),
      h("div", { class: "actions" }, h("button", { class: "btn", onclick: async () => {
        const names = scopeBoxes
          .map((l) => l.querySelector("input"))
          .filter((i): i is HTMLInputElement => !!i && i.checked)
          .map((i) => i.value);
        try {
          await api.setScopes(names);
          toast("Permissions saved.");
          await refresh();
        } catch (e) {
          fail(e);
        }
      } }, "Save permissions")),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Brokers"),
      h(
        "table",
        { class: "table" },
        h("tbody", {}, s.brokers.map((b) =>
          h(
            "tr",
            {},
            h("td", {}, h("strong", {}, b.label), b.account ? h("div", { class: "muted small" }, `Account ${b.account}`) : null),
            h("td", {}, h("span", { class: `pill ${b.mode === "live" ? "warn" : ""}` }, b.mode)),
            h("td", {}, b.active ? h("span", { class: "pill ok" }, "orders go here") : h("span", { class: "muted" }, "linked")),
            h("td", { class: "right" }, b.name === "alpaca"
              ? h("button", { class: "btn small", onclick: async () => {
                  await api.unlinkAlpaca();
                  await refresh();
                } }, "Remove")
              : null),
          ),
        )),
      ),
      addAlpaca,
      h("dl", { class: "facts" },
        h("dt", {}, "Market data"), h("dd", {}, s.data_provider === "bundled" ? "Built-in history (offline)" : s.data_provider),
        h("dt", {}, "Data folder"), h("dd", {}, h("code", {}, s.data_dir)),
      ),
    ),
  );
}
