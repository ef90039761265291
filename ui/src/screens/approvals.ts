// Approvals in the main window: every order waiting for the person, and the last decision made.
// Deciding happens in the approval window only (its own window, which the app opens when a
// request arrives); "Review and decide" opens it again, e.g. after a restart of the app.
import { api, errorText } from "../api";
import { approvalCard } from "../approval-card";
import type { Decision } from "../bindings";
import { h, mount } from "../dom";
import { empty } from "./home";

export async function renderApprovals(root: HTMLElement, last?: Decision | null): Promise<void> {
  const list = await api.pendingApprovals();
  const err = h("p", { class: "form-error", role: "alert" });
  const review = () =>
    h(
      "button",
      {
        class: "btn primary",
        "data-testid": "review-approvals",
        onclick: async () => {
          try {
            if (!(await api.openApprovalWindow())) await renderApprovals(root, last);
          } catch (e) {
            err.textContent = errorText(e);
          }
        },
      },
      "Review and decide",
    );
  mount(
    root,
    h("header", { class: "page-head" }, h("h1", {}, "Approvals"), list.length > 0 ? review() : null),
    err,
    last
      ? h(
          "div",
          { class: `decision ${last.outcome === "rejected" || last.outcome === "refused" ? "neutral" : "ok"}`, "data-testid": "last-decision" },
          last.message,
        )
      : null,
    list.length === 0
      ? h("section", { class: "card" }, empty("No orders are waiting for you. When Claude places one that needs your approval, a notification and the approval window appear."))
      : list.map((r) => approvalCard(r, [], true)),
  );
}
