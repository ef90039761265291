// Generated from crates/desktop/src/views.rs by crates/desktop/tests/bindings.rs.
// Do not edit: run `QUANTDESK_WRITE_BINDINGS=1 cargo test -p quantdesk-desktop --test bindings`.

/** Exact decimal text, e.g. "100000" or "-12.34". */
export type Money = string;

export type OnboardingStep = "welcome" | "sign_in" | "broker" | "limits" | "claude" | "done";

export type Onboarding = { step: OnboardingStep, 
/**
 * True once the wizard was finished; the app then opens on Home.
 */
completed: boolean, identity: Identity, 
/**
 * `paper` or `alpaca`.
 */
broker: string, };

export type Identity = { 
/**
 * True without an account key: market data, analysis, backtests and paper trading.
 */
guest: boolean, account_id: string | null, key_id: string | null, 
/**
 * What the key (or guest mode) allows, narrowed by the person.
 */
scopes: Array<string>, 
/**
 * A key is installed but cannot be used (expired, revoked, missing from the keychain).
 */
problem: string | null, };

export type Home = { broker: string, 
/**
 * `paper` or `live`.
 */
mode: string, account: AccountSummary | null, 
/**
 * Why the account could not be read, said plainly.
 */
account_problem: string | null, positions: Array<PositionRow>, daily_loss: DailyLoss, open_orders: Array<OrderRow>, pending_approvals: Array<ApprovalRequest>, recent_tool_calls: Array<ToolCallRow>, claude: ClaudeStatus, kill_switch: boolean, live_trading: boolean, identity: Identity, };

export type AccountSummary = { currency: string, equity: string, cash: string, buying_power: string, positions_value: string, realized_pnl: string, unrealized_pnl: string, as_of: string, };

export type PositionRow = { symbol: string, qty: string, avg_entry_price: string, current_price: string | null, market_value: string | null, unrealized_pnl: string | null, };

export type DailyLoss = { 
/**
 * The limit in dollars; `None` when it is switched off.
 */
limit: string | null, 
/**
 * Equity now minus equity when the session opened; `None` before the first order of the
 * session (the session's opening equity is recorded then).
 */
today_pnl: string | null, 
/**
 * How much more may be lost today before only risk-reducing orders pass.
 */
room_left: string | null, 
/**
 * Share of the limit used, 0..=1.
 */
used: number | null, };

export type OrderRow = { client_order_id: string, symbol: string, side: string, order_type: string, qty: string | null, notional: string | null, limit_price: string | null, stop_price: string | null, status: string, filled_qty: string, created_at: string, };

export type ToolCallRow = { seq: number, time: string, tool: string, outcome: string, summary: string, };

export type ApprovalRequest = { client_order_id: string, broker: string, mode: string, symbol: string, side: string, order_type: string, time_in_force: string, qty: string | null, notional: string | null, limit_price: string | null, stop_price: string | null, 
/**
 * The last price the broker knows.
 */
last_price: string | null, 
/**
 * The order's value at the worse of the last price and its own price.
 */
estimated_value: string | null, created_at: string, expires_at: string | null, 
/**
 * The limits the order was checked against, with this order's numbers.
 */
checks: Array<LimitCheck>, 
/**
 * The current position in the symbol, if any.
 */
position: PositionRow | null, };

export type LimitCheck = { name: string, 
/**
 * The limit's value in words (`$10,000`, `off`).
 */
limit: string, 
/**
 * This order's value against it (`$1,234`).
 */
this_order: string, within: boolean, };

export type Decision = { client_order_id: string, 
/**
 * `filled`, `sent`, `rejected`, `refused`, `expired`, …
 */
outcome: string, 
/**
 * One sentence for the person.
 */
message: string, };

export type Settings = { identity: Identity, limits: LimitsForm, approval: ApprovalForm, live_trading: boolean, kill_switch: boolean, scopes: Array<ScopeOption>, brokers: Array<LinkedBroker>, data_dir: string, 
/**
 * Market data source: `bundled` (offline history shipped with the app).
 */
data_provider: string, };

export type LimitsForm = { max_order_value: string, max_position_value: string, max_position_pct_of_equity: string, max_daily_loss: string, max_orders_per_minute: string, price_collar_pct: string, market_hours_only: boolean, allow_short_selling: boolean, 
/**
 * Comma-separated symbols; empty means any.
 */
allowed_symbols: string, blocked_symbols: string, };

export type ApprovalForm = { 
/**
 * `never`, `always`, `above_value`, `live_only`.
 */
policy: string, 
/**
 * Dollars, for `above_value`.
 */
value: string, };

export type ScopeOption = { name: string, label: string, 
/**
 * The key (or guest mode) allows it.
 */
granted: boolean, 
/**
 * In use now (granted and not narrowed away).
 */
enabled: boolean, };

export type LinkedBroker = { 
/**
 * `paper` or `alpaca`.
 */
name: string, label: string, 
/**
 * `paper` or `live`.
 */
mode: string, 
/**
 * Orders go here now.
 */
active: boolean, 
/**
 * E.g. the Alpaca account number, for recognition.
 */
account: string | null, };

export type AlpacaLink = { key_id: string, secret: string, 
/**
 * Link the live endpoint instead of Alpaca's paper one.
 */
live: boolean, };

export type ClaudeStatus = { 
/**
 * `connected`, `not_connected`, `no_config_file`, `stale`, `error`.
 */
state: string, connected: boolean, config_path: string, 
/**
 * One sentence for the person.
 */
message: string, 
/**
 * What to do so Claude Desktop picks the change up.
 */
restart_hint: string, };

export type AuditQuery = { kind: string, symbol: string, 
/**
 * `YYYY-MM-DD`, inclusive (UTC).
 */
from: string, to: string, 
/**
 * Words that must all appear in the entry (case-insensitive).
 */
search: string, 
/**
 * At most this many rows (newest first); 0 means 500.
 */
limit: number, };

export type AuditPage = { rows: Array<AuditRow>, 
/**
 * Entries matching before the row limit.
 */
matching: number, 
/**
 * Every kind in the log, for the filter.
 */
kinds: Array<string>, };

export type AuditRow = { seq: number, time: string, actor: string, kind: string, tool: string | null, symbol: string | null, outcome: string, 
/**
 * One line saying what happened.
 */
summary: string, arguments: Array<Field>, details: Array<Field>, };

export type Field = { name: string, value: string, };

export type ChainCheck = { intact: boolean, entries: number, first_broken: number | null, message: string, };

export type Exported = { path: string, rows: number, };

export type ShellStatus = { claude_connected: boolean, pending_approvals: number, kill_switch: boolean, 
/**
 * One line for the tray tooltip and menu.
 */
line: string, };

export type UiError = { message: string, field: string | null, };
