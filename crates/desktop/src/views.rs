//! Everything the UI receives or sends. Money and quantities travel as exact decimal text
//! (`"1234.5"`) and the UI only formats them; times are RFC 3339 text. Each type derives
//! `specta::Type`; src-tauri's `bindings` test writes them, with the commands, to
//! `ui/src/bindings.ts` and fails when that file is stale.

use serde::{Deserialize, Serialize};
use specta::Type;

/// Exact decimal text, e.g. `"100000"` or `"-12.34"`.
pub type Money = String;

// ---------------------------------------------------------------- onboarding

/// The wizard's steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum OnboardingStep {
    Welcome,
    SignIn,
    Broker,
    Limits,
    Claude,
    Done,
}

/// Where the person is in onboarding, and what they chose so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Onboarding {
    pub step: OnboardingStep,
    /// True once the wizard was finished; the app then opens on Home.
    pub completed: bool,
    pub identity: Identity,
    /// `paper` or `alpaca`.
    pub broker: String,
}

/// Who the app runs as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Identity {
    /// True without an account key: market data, analysis, backtests and paper trading.
    pub guest: bool,
    pub account_id: Option<String>,
    pub key_id: Option<String>,
    /// What the key (or guest mode) allows, narrowed by the person.
    pub scopes: Vec<String>,
    /// A key is installed but cannot be used (expired, revoked, missing from the keychain).
    pub problem: Option<String>,
}

/// Where the browser sign-in is.
#[derive(Debug, Clone, PartialEq, Serialize, Type)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BrowserSignIn {
    /// Nothing started (or it was cancelled).
    Idle,
    /// Waiting for the person to approve `user_code` at `verification_uri_complete`.
    Waiting {
        user_code: String,
        verification_uri: String,
        verification_uri_complete: String,
        /// Seconds the code was valid for when it was made.
        expires_in: u32,
        /// Whether the system browser was opened (else the person opens the link).
        browser_opened: bool,
    },
    /// The key is in the keychain; `identity` shows its scopes.
    SignedIn {
        identity: Identity,
    },
    Failed {
        message: String,
    },
}

/// What signing out did.
#[derive(Debug, Clone, PartialEq, Serialize, Type)]
pub struct SignedOut {
    pub identity: Identity,
    /// The key was revoked on the platform too (else `message` says why not).
    pub revoked_on_platform: bool,
    pub message: String,
}

/// What refreshing the revocation list found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct RevocationRefresh {
    pub platform_url: String,
    pub revoked_keys: u32,
    pub problems: Vec<String>,
}

// ---------------------------------------------------------------- home

/// The screen a person glances at to know all is well.
#[derive(Debug, Clone, PartialEq, Serialize, Type)]
pub struct Home {
    pub broker: String,
    /// `paper` or `live`.
    pub mode: String,
    pub account: Option<AccountSummary>,
    /// Why the account could not be read, said plainly.
    pub account_problem: Option<String>,
    pub positions: Vec<PositionRow>,
    pub daily_loss: DailyLoss,
    pub open_orders: Vec<OrderRow>,
    pub pending_approvals: Vec<ApprovalRequest>,
    pub recent_tool_calls: Vec<ToolCallRow>,
    pub claude: ClaudeStatus,
    pub kill_switch: bool,
    pub live_trading: bool,
    pub identity: Identity,
    /// Why the limits, approval policy or live switch cannot be trusted (changed outside the
    /// app, or not sealed at all), said plainly; `None` when they carry the app's seal.
    pub settings_problem: Option<String>,
    /// Whether the desk's data is encrypted on disk, and if not, why not (one sentence).
    pub store_at_rest: String,
    pub store_encrypted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct AccountSummary {
    pub currency: String,
    pub equity: Money,
    pub cash: Money,
    pub buying_power: Money,
    pub positions_value: Money,
    pub realized_pnl: Money,
    pub unrealized_pnl: Money,
    pub as_of: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct PositionRow {
    pub symbol: String,
    pub qty: Money,
    pub avg_entry_price: Money,
    pub current_price: Option<Money>,
    pub market_value: Option<Money>,
    pub unrealized_pnl: Option<Money>,
}

/// Today's P&L against the daily-loss limit.
#[derive(Debug, Clone, PartialEq, Serialize, Type)]
pub struct DailyLoss {
    /// The limit in dollars; `None` when it is switched off.
    pub limit: Option<Money>,
    /// Equity now minus equity when the session opened; `None` before the first order of the
    /// session (the session's opening equity is recorded then).
    pub today_pnl: Option<Money>,
    /// How much more may be lost today before only risk-reducing orders pass.
    pub room_left: Option<Money>,
    /// Share of the limit used, 0..=1.
    pub used: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct OrderRow {
    pub client_order_id: String,
    pub symbol: String,
    pub side: String,
    pub order_type: String,
    pub qty: Option<Money>,
    pub notional: Option<Money>,
    pub limit_price: Option<Money>,
    pub stop_price: Option<Money>,
    pub status: String,
    pub filled_qty: Money,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct ToolCallRow {
    pub seq: i64,
    pub time: String,
    pub tool: String,
    pub outcome: String,
    pub summary: String,
}

// ---------------------------------------------------------------- approvals

/// An order waiting for the person's click.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct ApprovalRequest {
    pub client_order_id: String,
    pub broker: String,
    pub mode: String,
    pub symbol: String,
    pub side: String,
    pub order_type: String,
    pub time_in_force: String,
    pub qty: Option<Money>,
    pub notional: Option<Money>,
    pub limit_price: Option<Money>,
    pub stop_price: Option<Money>,
    /// The last price the broker knows.
    pub last_price: Option<Money>,
    /// The order's value at the worse of the last price and its own price.
    pub estimated_value: Option<Money>,
    pub created_at: String,
    pub expires_at: Option<String>,
    /// The limits the order was checked against, with this order's numbers.
    pub checks: Vec<LimitCheck>,
    /// The current position in the symbol, if any.
    pub position: Option<PositionRow>,
}

/// One limit as the approval window shows it. The guard checks again when Approve is clicked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct LimitCheck {
    pub name: String,
    /// The limit's value in words (`$10,000`, `off`).
    pub limit: String,
    /// This order's value against it (`$1,234`).
    pub this_order: String,
    pub within: bool,
}

/// What a click on Approve or Reject did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct Decision {
    pub client_order_id: String,
    /// `filled`, `sent`, `rejected`, `refused`, `expired`, …
    pub outcome: String,
    /// One sentence for the person.
    pub message: String,
}

// ---------------------------------------------------------------- settings

/// The settings screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct Settings {
    pub identity: Identity,
    pub limits: LimitsForm,
    pub approval: ApprovalForm,
    pub live_trading: bool,
    pub kill_switch: bool,
    pub scopes: Vec<ScopeOption>,
    pub brokers: Vec<LinkedBroker>,
    pub data_dir: String,
    /// Market data source: `bundled` (offline history shipped with the app).
    pub data_provider: String,
}

/// The limits as the form edits them. Money fields are decimal text; empty text switches the
/// limit off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct LimitsForm {
    pub max_order_value: String,
    pub max_position_value: String,
    pub max_position_pct_of_equity: String,
    pub max_daily_loss: String,
    pub max_orders_per_minute: String,
    pub price_collar_pct: String,
    pub market_hours_only: bool,
    pub allow_short_selling: bool,
    /// Comma-separated symbols; empty means any.
    pub allowed_symbols: String,
    pub blocked_symbols: String,
}

/// The approval policy as the form edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ApprovalForm {
    /// `never`, `always`, `above_value`, `live_only`.
    pub policy: String,
    /// Dollars, for `above_value`.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct ScopeOption {
    pub name: String,
    pub label: String,
    /// The key (or guest mode) allows it.
    pub granted: bool,
    /// In use now (granted and not narrowed away).
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct LinkedBroker {
    /// `paper` or `alpaca`.
    pub name: String,
    pub label: String,
    /// `paper` or `live`.
    pub mode: String,
    /// Orders go here now.
    pub active: bool,
    /// E.g. the Alpaca account number, for recognition.
    pub account: Option<String>,
}

/// Alpaca credentials as typed by the person. They go to the keychain and nowhere else.
#[derive(Clone, Serialize, Deserialize, Type)]
pub struct AlpacaLink {
    pub key_id: String,
    pub secret: String,
    /// Link the live endpoint instead of Alpaca's paper one.
    pub live: bool,
}

impl std::fmt::Debug for AlpacaLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlpacaLink")
            .field("key_id", &"<redacted>")
            .field("secret", &"<redacted>")
            .field("live", &self.live)
            .finish()
    }
}

// ---------------------------------------------------------------- claude

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct ClaudeStatus {
    /// `connected`, `not_connected`, `no_config_file`, `stale`, `error`.
    pub state: String,
    pub connected: bool,
    pub config_path: String,
    /// One sentence for the person.
    pub message: String,
    /// What to do so Claude Desktop picks the change up.
    pub restart_hint: String,
    /// Whether QuantDesk can restart Claude Desktop here (the button is shown only then).
    pub can_restart: bool,
    /// What the restart button does, or why there is none and what to do instead.
    pub restart_note: String,
}

/// What "Restart Claude Desktop" did, in one sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct ClaudeRestart {
    pub message: String,
}

// ---------------------------------------------------------------- audit

/// Which audit entries to show. Empty text means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct AuditQuery {
    pub kind: String,
    pub symbol: String,
    /// `YYYY-MM-DD`, inclusive (UTC).
    pub from: String,
    pub to: String,
    /// Words that must all appear in the entry (case-insensitive).
    pub search: String,
    /// At most this many rows (newest first); 0 means 500.
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct AuditPage {
    pub rows: Vec<AuditRow>,
    /// Entries matching before the row limit.
    pub matching: u32,
    /// Every kind in the log, for the filter.
    pub kinds: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct AuditRow {
    pub seq: i64,
    pub time: String,
    pub actor: String,
    pub kind: String,
    pub tool: Option<String>,
    pub symbol: Option<String>,
    pub outcome: String,
    /// One line saying what happened.
    pub summary: String,
    pub arguments: Vec<Field>,
    pub details: Vec<Field>,
}

/// A name and its value as text (nested values flattened to `a.b`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct Field {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct ChainCheck {
    pub intact: bool,
    pub entries: i64,
    pub first_broken: Option<i64>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct Exported {
    pub path: String,
    pub rows: u32,
}

// ---------------------------------------------------------------- shell

/// What the tray shows, polled by the shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct ShellStatus {
    pub claude_connected: bool,
    pub pending_approvals: u32,
    pub kill_switch: bool,
    /// One line for the tray tooltip and menu.
    pub line: String,
}

// ---------------------------------------------------------------- markets (watchlist, alerts)

/// One watched pair or stock on the Watchlist screen.
#[derive(Debug, Clone, PartialEq, Serialize, Type)]
pub struct WatchRow {
    /// `BTC/USD`, `AAPL`.
    pub symbol: String,
    pub price: Option<Money>,
    pub bid: Option<Money>,
    pub ask: Option<Money>,
    /// The quote's time (RFC 3339).
    pub as_of: Option<String>,
    /// Not updated for longer than 10 s (crypto), 60 s while the market is open (stocks).
    pub stale: bool,
    /// Closes of the last finished minutes, oldest first (the intraday sparkline).
    pub sparkline: Vec<f64>,
}

/// The live stream as the app sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Type)]
pub struct StreamView {
    pub source: String,
    /// connecting, connected, reconnecting.
    pub state: String,
    pub reason: Option<String>,
    pub reconnects: u32,
    /// owner (the app holds the upstream connection), mirror or electing.
    pub part: String,
    /// Since the stream's last message, in milliseconds.
    pub silent_ms: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Type)]
pub struct Watchlist {
    pub rows: Vec<WatchRow>,
    /// Coinbase's crypto stream.
    pub stream: StreamView,
    /// Alpaca's stock stream, with an account linked.
    pub stocks_stream: Option<StreamView>,
}

/// One alert on the Alerts screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct AlertItem {
    pub id: String,
    pub symbol: String,
    pub condition: String,
    pub timeframe: String,
    pub repeat: bool,
    /// active, done or cancelled.
    pub status: String,
    pub created_at: String,
    pub last_bar: Option<String>,
    pub holds: Option<bool>,
}

/// One firing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct AlertFiring {
    pub id: String,
    pub symbol: String,
    pub condition: String,
    pub bar_time: String,
    pub price: Money,
    pub fired_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct AlertsPage {
    pub alerts: Vec<AlertItem>,
    pub fired: Vec<AlertFiring>,
    pub note: Option<String>,
}

/// A new alert from the Alerts screen.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Type)]
pub struct AlertForm {
    pub symbol: String,
    pub condition: String,
    /// `1Min`, `5Min`, `1Hour`, … (empty: 1Min).
    pub timeframe: String,
    pub repeat: bool,
}

/// A desktop notification to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct Notice {
    pub title: String,
    pub body: String,
}
