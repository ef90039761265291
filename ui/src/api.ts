// Typed calls into the Rust side. Every type comes from bindings.ts (generated from Rust);
// this file only names the commands.
import { invoke } from "@tauri-apps/api/core";
import type {
  AlpacaLink,
  ApprovalForm,
  ApprovalRequest,
  AuditPage,
  AuditQuery,
  ChainCheck,
  ClaudeStatus,
  Decision,
  Exported,
  Home,
  Identity,
  LimitsForm,
  LinkedBroker,
  Onboarding,
  OnboardingStep,
  Settings,
  UiError,
} from "./bindings";

export interface AppInfo {
  name: string;
  version: string;
}

/** The sentence of a failed command (a UiError from Rust, or anything else). */
export function errorText(err: unknown): string {
  if (err && typeof err === "object" && "message" in err) return String((err as UiError).message);
  return String(err);
}

export function errorField(err: unknown): string | null {
  if (err && typeof err === "object" && "field" in err) return (err as UiError).field;
  return null;
}

export const api = {
  appInfo: () => invoke<AppInfo>("app_info"),
  onboarding: () => invoke<Onboarding>("onboarding"),
  onboardingGo: (step: OnboardingStep) => invoke<Onboarding>("onboarding_go", { step }),
  signIn: (apiKey: string) => invoke<Onboarding>("sign_in", { apiKey }),
  continueAsGuest: () => invoke<Onboarding>("continue_as_guest"),
  signOut: () => invoke<Identity>("sign_out"),
  choosePaperBroker: () => invoke<Onboarding>("choose_paper_broker"),
  linkAlpaca: (link: AlpacaLink) => invoke<LinkedBroker>("link_alpaca", { link }),
  unlinkAlpaca: () => invoke<Settings>("unlink_alpaca"),
  home: () => invoke<Home>("home"),
  settings: () => invoke<Settings>("settings"),
  saveLimits: (form: LimitsForm) => invoke<Settings>("save_limits", { form }),
  saveApprovalPolicy: (form: ApprovalForm) => invoke<Settings>("save_approval_policy", { form }),
  setKillSwitch: (on: boolean) => invoke<Settings>("set_kill_switch", { on }),
  setLiveTrading: (on: boolean, confirmed: boolean) =>
    invoke<Settings>("set_live_trading", { on, confirmed }),
  setScopes: (scopes: string[]) => invoke<Settings>("set_scopes", { scopes }),
  claudeStatus: () => invoke<ClaudeStatus>("claude_status"),
  connectClaude: () => invoke<ClaudeStatus>("connect_claude"),
  disconnectClaude: () => invoke<ClaudeStatus>("disconnect_claude"),
  pendingApprovals: () => invoke<ApprovalRequest[]>("pending_approvals"),
  approve: (id: string) => invoke<Decision>("approve", { id }),
  reject: (id: string) => invoke<Decision>("reject", { id }),
  auditPage: (query: AuditQuery) => invoke<AuditPage>("audit_page", { query }),
  verifyAudit: () => invoke<ChainCheck>("verify_audit"),
  exportAuditCsv: (query: AuditQuery) => invoke<Exported>("export_audit_csv", { query }),
};
