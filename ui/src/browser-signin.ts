// "Sign in with your browser": the device sign-in. The Rust side asks the platform for a code,
// opens its page in the system browser and polls; this shows the code, follows the state and
// says how it ended. Used by onboarding's sign-in step and by Settings.
import { api, errorText } from "./api";
import type { BrowserSignIn } from "./bindings";
import { h } from "./dom";

export function browserSignIn(onSignedIn: (scopes: string[]) => Promise<void>): HTMLElement {
  const status = h("div", { class: "browser-signin-status", "data-testid": "browser-signin-status" });
  let timer: number | undefined;
  const stop = () => {
    if (timer !== undefined) window.clearInterval(timer);
    timer = undefined;
  };
  const button = h("button", { class: "btn primary", "data-testid": "browser-sign-in" }, "Sign in with your browser");
  const cancel = h("button", { class: "btn", "data-testid": "browser-sign-in-cancel" }, "Cancel");
  cancel.hidden = true;

  const show = async (s: BrowserSignIn) => {
    status.replaceChildren();
    switch (s.state) {
      case "waiting":
        status.append(
          h("p", {}, s.browser_opened ? "Your browser opened the QuantDesk sign-in page. Check that it shows this code, then approve:" : "Open this page in your browser, sign in and approve this code:"),
          h("p", { class: "user-code", "data-testid": "user-code" }, s.user_code),
          h("p", { class: "muted" }, h("code", { class: "selectable" }, s.verification_uri_complete)),
          h("p", { class: "muted" }, "Waiting for your approval…"),
        );
        cancel.hidden = false;
        break;
      case "signed_in":
        stop();
        cancel.hidden = true;
        status.append(h("p", { class: "ok" }, "Signed in. The key is in the system keychain."));
        await onSignedIn(s.identity.scopes);
        break;
      case "failed":
        stop();
        cancel.hidden = true;
        status.append(h("p", { class: "form-error", role: "alert" }, s.message));
        break;
      case "idle":
        stop();
        cancel.hidden = true;
        break;
    }
  };

  button.addEventListener("click", async () => {
    stop();
    try {
      await show(await api.startBrowserSignIn());
      timer = window.setInterval(async () => {
        try {
          await show(await api.browserSignIn());
        } catch (e) {
          stop();
          status.replaceChildren(h("p", { class: "form-error", role: "alert" }, errorText(e)));
        }
      }, 1000);
    } catch (e) {
      status.replaceChildren(h("p", { class: "form-error", role: "alert" }, errorText(e)));
    }
  });
  cancel.addEventListener("click", async () => {
    stop();
    await show(await api.cancelBrowserSignIn());
  });
  return h("div", { class: "browser-signin" }, h("div", { class: "actions" }, button, cancel), status);
}
