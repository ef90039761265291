//! `ui/src/bindings.ts` is generated from the view types here. This test rewrites it when
//! `QUANTDESK_WRITE_BINDINGS=1` and otherwise fails if the file is stale, so the UI's types are
//! never written by hand.

use quantdesk_desktop::UiError;
use quantdesk_desktop::views::*;
use ts_rs::{Config, TS};

fn generate() -> String {
    let cfg = Config::new().with_large_int("number");
    let decls = [
        OnboardingStep::decl(&cfg),
        Onboarding::decl(&cfg),
        Identity::decl(&cfg),
        Home::decl(&cfg),
        AccountSummary::decl(&cfg),
        PositionRow::decl(&cfg),
        DailyLoss::decl(&cfg),
        OrderRow::decl(&cfg),
        ToolCallRow::decl(&cfg),
        ApprovalRequest::decl(&cfg),
        LimitCheck::decl(&cfg),
        Decision::decl(&cfg),
        Settings::decl(&cfg),
        LimitsForm::decl(&cfg),
        ApprovalForm::decl(&cfg),
        ScopeOption::decl(&cfg),
        LinkedBroker::decl(&cfg),
        AlpacaLink::decl(&cfg),
        ClaudeStatus::decl(&cfg),
        AuditQuery::decl(&cfg),
        AuditPage::decl(&cfg),
        AuditRow::decl(&cfg),
        Field::decl(&cfg),
        ChainCheck::decl(&cfg),
        Exported::decl(&cfg),
        ShellStatus::decl(&cfg),
        UiError::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from crates/desktop/src/views.rs by crates/desktop/tests/bindings.rs.\n\
         // Do not edit: run `QUANTDESK_WRITE_BINDINGS=1 cargo test -p quantdesk-desktop --test bindings`.\n\n\
         /** Exact decimal text, e.g. \"100000\" or \"-12.34\". */\nexport type Money = string;\n",
    );
    for d in decls {
        out.push('\n');
        out.push_str("export ");
        out.push_str(d.trim());
        out.push('\n');
    }
    out
}

#[test]
fn ui_bindings_are_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/bindings.ts");
    let want = generate();
    if std::env::var_os("QUANTDESK_WRITE_BINDINGS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is stale: run QUANTDESK_WRITE_BINDINGS=1 cargo test -p quantdesk-desktop --test bindings",
        path.display()
    );
}
