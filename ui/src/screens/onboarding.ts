// The first-run wizard: welcome → sign in or guest → broker → limits → Claude Desktop → done.
import { api, errorField, errorText } from "../api";
import type { ApprovalForm, ClaudeStatus, LimitsForm, Onboarding, OnboardingStep } from "../bindings";
import { browserSignIn } from "../browser-signin";
import { h, mount } from "../dom";
import { logo } from "../logo";
import { limitsFields, policyChoices } from "./settings";

export { logo };

const STEPS: { step: OnboardingStep; label: string }[] = [
  { step: "welcome", label: "Welcome" },
  { step: "sign_in", label: "Sign in" },
  { step: "broker", label: "Broker" },
  { step: "limits", label: "Limits" },
  { step: "claude", label: "Claude" },
  { step: "done", label: "Done" },
];

export const FIRST_PROMPT =
  "Buy 1 share of GOOG in my QuantDesk paper account, then show me my positions.";

export async function renderOnboarding(root: HTMLElement, onDone: () => void): Promise<void> {
  let state: Onboarding = await api.onboarding();

  const go = async (step: OnboardingStep) => {
    state = await api.onboardingGo(step);
    await draw();
  };

  const frame = (step: OnboardingStep, body: (Node | string | null)[], actions: Node[]) => {
    const idx = STEPS.findIndex((s) => s.step === step);
    mount(
      root,
      h(
        "main",
        { class: "wizard", "data-testid": `onboarding-${step}` },
        h(
          "ol",
          { class: "steps", "aria-label": "Setup progress" },
          STEPS.map((s, i) =>
            h(
              "li",
              { class: i < idx ? "done" : i === idx ? "current" : "" },
              h("span", { class: "dot" }, i < idx ? "✓" : String(i + 1)),
              h("span", { class: "label" }, s.label),
            ),
          ),
        ),
        h("section", { class: "card wizard-card" }, body, h("div", { class: "actions" }, actions)),
      ),
    );
  };

  const errorLine = () => h("p", { class: "form-error", role: "alert", "data-testid": "form-error" });
  const showError = (el: HTMLElement, err: unknown) => {
    el.textContent = errorText(err);
    const field = errorField(err);
    if (field) root.querySelector<HTMLElement>(`[name="${field}"]`)?.focus();
  };

  const draw = async (): Promise<void> => {
    switch (state.step) {
      case "welcome":
        frame(
          "welcome",
          [
            logo(),
            h("h1", {}, "Welcome to QuantDesk"),
            h(
              "p",
              { class: "lead" },
              "Your personal quant, inside Claude Desktop. In a few steps Claude can read markets, " +
                "analyse, backtest and — inside your limits and with your approval — trade.",
            ),
            h(
              "ul",
              { class: "bullets" },
              h("li", {}, "Your keys stay in this computer's keychain."),
              h("li", {}, "Every order is checked against your limits before it leaves the machine."),
              h("li", {}, "Everything done in your name is written to a tamper-evident log."),
            ),
          ],
          [primary("Get started", () => go("sign_in"), "start")],
        );
        break;
      case "sign_in": {
        const err = errorLine();
        const key = h("input", {
          name: "api_key",
          type: "password",
          autocomplete: "off",
          spellcheck: "false",
          placeholder: "qdk_…",
          "data-testid": "api-key",
        });
        frame(
          "sign_in",
          [
            h("h1", {}, "Sign in"),
            h("p", { class: "lead" }, "Sign in with your QuantDesk account in your browser: nothing to copy. The key it gives this computer is checked here and kept in the system keychain."),
            browserSignIn(async () => {
              state = await api.onboarding();
              if (state.step === "sign_in") state = await api.onboardingGo("broker");
              await draw();
            }),
            h("p", { class: "muted" }, "Or paste an API key from your QuantDesk account page:"),
            h("label", { class: "field" }, h("span", {}, "API key"), key),
            err,
            h("div", { class: "or" }, h("span", {}, "or")),
            h(
              "p",
              { class: "muted" },
              "Continue as a guest: market data, analysis, backtests and paper trading, no account needed.",
            ),
          ],
          [
            secondary("Back", () => go("welcome")),
            secondary("Continue as guest", async () => {
              state = await api.continueAsGuest();
              await draw();
            }, "guest"),
            primary("Sign in", async () => {
              try {
                state = await api.signIn(key.value);
                key.value = "";
                await draw();
              } catch (e) {
                showError(err, e);
              }
            }, "sign-in"),
          ],
        );
        break;
      }
      case "broker": {
        const err = errorLine();
        const keyId = h("input", { name: "alpaca_key_id", autocomplete: "off", spellcheck: "false" });
        const secret = h("input", { name: "alpaca_secret", type: "password", autocomplete: "off" });
        const live = h("input", { type: "checkbox", name: "alpaca_live" });
        const alpaca = h(
          "div",
          { class: "alpaca hidden" },
          h("label", { class: "field" }, h("span", {}, "Key ID"), keyId),
          h("label", { class: "field" }, h("span", {}, "Secret key"), secret),
          h("label", { class: "check" }, live, h("span", {}, "This is a live-money account (otherwise Alpaca paper)")),
          err,
          h(
            "div",
            { class: "actions" },
            primary("Check and link Alpaca", async () => {
              try {
                await api.linkAlpaca({ key_id: keyId.value, secret: secret.value, live: live.checked });
                secret.value = "";
                state = await api.onboardingGo("limits");
                await draw();
              } catch (e) {
                showError(err, e);
              }
            }),
          ),
        );
        frame(
          "broker",
          [
            h("h1", {}, "Link a broker"),
            h("p", { class: "lead" }, "Where Claude's orders go. You can add another broker later in Settings."),
            h(
              "div",
              { class: "choices" },
              h(
                "button",
                { class: "choice", "data-testid": "broker-paper", onclick: async () => {
                  state = await api.choosePaperBroker();
                  await draw();
                } },
                h("strong", {}, "QuantDesk paper account"),
                h("span", {}, "$100,000 of simulated cash, ready now. Works offline."),
                h("em", { class: "pill ok" }, "Recommended"),
              ),
              h(
                "button",
                { class: "choice", "data-testid": "broker-alpaca", onclick: () => alpaca.classList.toggle("hidden") },
                h("strong", {}, "Alpaca"),
                h("span", {}, "Your Alpaca paper or live account. Checked with Alpaca, kept in the keychain."),
              ),
            ),
            alpaca,
          ],
          [secondary("Back", () => go("sign_in"))],
        );
        break;
      }
      case "limits": {
        const s = await api.settings();
        const err = errorLine();
        const { element: limitsEl, read: readLimits } = limitsFields(s.limits);
        const { element: policyEl, read: readPolicy } = policyChoices(s.approval);
        frame(
          "limits",
          [
            h("h1", {}, "Your limits"),
            h("p", { class: "lead" }, "Every order is checked against these before it leaves this computer. The defaults are deliberately careful; change them any time in Settings."),
            limitsEl,
            h("h2", {}, "When should an order wait for your click?"),
            policyEl,
            err,
          ],
          [
            secondary("Back", () => go("broker")),
            primary("Save and continue", async () => {
              try {
                const limits: LimitsForm = readLimits();
                const policy: ApprovalForm = readPolicy();
                await api.saveLimits(limits);
                await api.saveApprovalPolicy(policy);
                await go("claude");
              } catch (e) {
                showError(err, e);
              }
            }, "save-limits"),
          ],
        );
        break;
      }
      case "claude": {
        const status = await api.claudeStatus();
        const err = errorLine();
        const statusEl = h(
          "div",
          { class: `status-box ${status.connected ? "ok" : ""}`, "data-testid": "claude-status" },
          h("strong", {}, status.connected ? "Connected" : "Not connected yet"),
          h("span", {}, status.message),
          h("code", { class: "path" }, status.config_path),
        );
        frame(
          "claude",
          [
            h("h1", {}, "Connect to Claude Desktop"),
            h(
              "p",
              { class: "lead" },
              "QuantDesk adds one entry to Claude Desktop's settings so Claude can use its tools. Your other servers are kept, a backup is made, and no key is written there.",
            ),
            statusEl,
            status.connected ? restartOffer(status, err) : null,
            err,
          ],
          [
            secondary("Back", () => go("limits")),
            status.connected
              ? primary("Continue", () => go("done"), "claude-continue")
              : secondary("Skip for now", () => go("done")),
            status.connected
              ? null
              : primary("Connect to Claude", async () => {
                  try {
                    await api.connectClaude();
                    await draw();
                  } catch (e) {
                    showError(err, e);
                  }
                }, "connect-claude"),
          ].filter((x): x is HTMLButtonElement => x !== null),
        );
        break;
      }
      case "done":
        frame(
          "done",
          [
            logo(),
            h("h1", {}, "You're all set"),
            h("p", { class: "lead" }, "Restart Claude Desktop, then try this:"),
            h("blockquote", { class: "prompt", "data-testid": "first-prompt" }, FIRST_PROMPT),
            h(
              "p",
              { class: "muted" },
              "Orders that need your approval pop up here. The kill switch at the top of every screen stops all trading at once.",
            ),
          ],
          [primary("Open QuantDesk", onDone, "finish")],
        );
        break;
    }
  };

  if (state.completed && state.step === "done") {
    onDone();
    return;
  }
  await draw();
}

/** After connecting: Claude Desktop reads its settings only when it starts. A button restarts
 * it where QuantDesk can; elsewhere, the sentence says what to do. */
export function restartOffer(status: ClaudeStatus, err: HTMLElement): HTMLElement {
  const note = h("p", { class: "hint", "data-testid": "restart-note" }, status.can_restart ? status.restart_hint : status.restart_note);
  if (!status.can_restart) return note;
  const button: HTMLButtonElement = h(
    "button",
    {
      class: "btn small",
      "data-testid": "restart-claude",
      title: status.restart_note,
      onclick: async () => {
        button.disabled = true;
        err.textContent = "";
        note.textContent = "Restarting Claude Desktop…";
        try {
          note.textContent = (await api.restartClaude()).message;
        } catch (e) {
          note.textContent = status.restart_hint;
          err.textContent = errorText(e);
        }
        button.disabled = false;
      },
    },
    "Restart Claude Desktop",
  );
  return h("div", { class: "restart-offer" }, note, button);
}

export function primary(label: string, onclick: () => unknown, testid?: string): HTMLButtonElement {
  return h("button", { class: "btn primary", onclick: () => void onclick(), "data-testid": testid }, label);
}

export function secondary(label: string, onclick: () => unknown, testid?: string): HTMLButtonElement {
  return h("button", { class: "btn", onclick: () => void onclick(), "data-testid": testid }, label);
}
