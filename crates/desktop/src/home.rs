//! The Home screen, gathered in one call.

use quantdesk_domain::{Decimal, OrderStatus};
use quantdesk_guard::{LIVE_TRADING_SETTING, OrderRecord};
use quantdesk_store::AuditFilter;

use crate::fmt::{cents, dec};
use crate::views::{AccountSummary, DailyLoss, Home, OrderRow, PositionRow, ToolCallRow};
use crate::{Desktop, DesktopError};

/// How many recent tool calls Home lists.
const RECENT_CALLS: i64 = 8;

pub(crate) fn position_row(p: &quantdesk_broker::PositionInfo) -> PositionRow {
    PositionRow {
        symbol: p.symbol.to_string(),
        qty: dec(p.qty),
        avg_entry_price: cents(p.avg_entry_price),
        current_price: p.current_price.map(cents),
        market_value: p.market_value.map(cents),
        unrealized_pnl: p.unrealized_pnl.map(cents),
    }
}

pub(crate) fn order_row(o: &OrderRecord) -> OrderRow {
    let r = &o.request;
    OrderRow {
        client_order_id: o.client_order_id.clone(),
        symbol: r.symbol.to_string(),
        side: r.side.to_string(),
        order_type: r.order_type.to_string(),
        qty: r.qty.map(dec),
        notional: r.notional.map(cents),
        limit_price: r.limit_price.map(dec),
        stop_price: r.stop_price.map(dec),
        status: o.status.to_string(),
        filled_qty: dec(o.filled_qty),
        created_at: o.created_at.to_rfc3339(),
    }
}

impl Desktop {
    pub async fn home(&self) -> Result<Home, DesktopError> {
        let desk = self.desk();
        let broker = desk.broker();
        let limits = quantdesk_guard::limits(&self.store).await?;
        let (account, account_problem) = match desk.account().await {
            Ok(a) => (Some(a), None),
            Err(err) => (None, Some(err.to_string())),
        };
        let positions = match desk.positions().await {
            Ok(p) => p.iter().map(position_row).collect(),
            Err(_) => Vec::new(),
        };
        let open_equity = match &account {
            Some(_) => desk.session_open_equity().await?,
            None => None,
        };
        let equity = account.as_ref().map(|a| a.equity);
        let daily_loss = daily_loss(limits.max_daily_loss, open_equity.zip(equity));
        let open_orders = desk
            .orders(&OrderStatus::WORKING, 100)
            .await?
            .iter()
            .map(order_row)
            .collect();
        let recent_tool_calls = self
            .store
            .audit_entries(&AuditFilter {
                kind: Some("tool_call".into()),
                limit: Some(RECENT_CALLS),
                ..AuditFilter::default()
            })
            .await?
            .into_iter()
            .map(|e| ToolCallRow {
                seq: e.seq,
                time: e.ts.to_rfc3339(),
                tool: e.tool.clone().unwrap_or_else(|| "tool".into()),
                outcome: e.outcome.clone(),
                summary: crate::audit::summary(&e),
            })
            .collect();
        Ok(Home {
            broker: broker.name().into(),
            mode: desk.mode().into(),
            account: account.map(|a| AccountSummary {
                currency: a.currency,
                equity: cents(a.equity),
                cash: cents(a.cash),
                buying_power: cents(a.buying_power),
                positions_value: cents(a.positions_value),
                realized_pnl: cents(a.realized_pnl),
                unrealized_pnl: cents(a.unrealized_pnl),
                as_of: a.as_of.to_rfc3339(),
            }),
            account_problem,
            positions,
            daily_loss,
            open_orders,
            pending_approvals: self.pending_approvals().await?,
            recent_tool_calls,
            claude: self.claude_status(),
            kill_switch: limits.kill_switch,
            live_trading: self.live_trading().await?,
            identity: self.identity().await?,
            settings_problem: self.settings_problem().await?,
            store_at_rest: self.store.at_rest().to_string(),
            store_encrypted: self.store.at_rest().is_encrypted(),
        })
    }

    pub(crate) async fn live_trading(&self) -> Result<bool, DesktopError> {
        Ok(self
            .store
            .setting::<bool>(LIVE_TRADING_SETTING)
            .await?
            .unwrap_or(false))
    }
}

/// Room left under the daily-loss limit, as the guard's daily-loss rule measures it
/// ([`quantdesk_guard::daily_loss`]): `session` is (equity at the session open, equity now),
/// `None` before the session's first check.
pub(crate) fn daily_loss(limit: Option<Decimal>, session: Option<(Decimal, Decimal)>) -> DailyLoss {
    let (open, now) = session.unwrap_or_default();
    let rule = quantdesk_guard::daily_loss(limit, open, now);
    let loss = rule.loss.max(Decimal::ZERO);
    let used = limit.and_then(|l| {
        if l.is_zero() {
            None
        } else {
            (loss / l).min(Decimal::ONE).to_string().parse::<f64>().ok()
        }
    });
    DailyLoss {
        limit: limit.map(cents),
        today_pnl: session.map(|(open, now)| cents(now - open)),
        room_left: rule.room.map(cents),
        used,
    }
}

impl Desktop {
    /// The tray's status line: connected to Claude? approvals waiting? kill switch?
    pub async fn shell_status(&self) -> Result<crate::views::ShellStatus, DesktopError> {
        let claude = self.claude_status().connected;
        let pending = u32::try_from(self.pending_approval_ids().await?.len()).unwrap_or(u32::MAX);
        let kill = quantdesk_guard::limits(&self.store).await?.kill_switch;
        let mut parts = vec![if claude {
            "Connected to Claude".to_string()
        } else {
            "Not connected to Claude".to_string()
        }];
        parts.push(match pending {
            0 => "no approvals waiting".into(),
            1 => "1 approval waiting".into(),
            n => format!("{n} approvals waiting"),
        });
        if kill {
            parts.push("KILL SWITCH ON".into());
        }
        Ok(crate::views::ShellStatus {
            claude_connected: claude,
            pending_approvals: pending,
            kill_switch: kill,
            line: parts.join(" · "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn room_left_is_the_limit_minus_todays_loss() {
        let d = daily_loss(Some(dec!(2000)), Some((dec!(10000), dec!(9500))));
        assert_eq!(d.room_left.as_deref(), Some("1500"));
        assert_eq!(d.used, Some(0.25));
    }

    #[test]
    fn a_gain_leaves_the_whole_limit_and_a_big_loss_leaves_none() {
        assert_eq!(
            daily_loss(Some(dec!(2000)), Some((dec!(10000), dec!(10300))))
                .room_left
                .as_deref(),
            Some("2000")
        );
        let over = daily_loss(Some(dec!(2000)), Some((dec!(10000), dec!(7500))));
        assert_eq!(over.room_left.as_deref(), Some("0"));
        assert_eq!(over.used, Some(1.0));
    }

    #[test]
    fn no_limit_means_no_room_figure() {
        let d = daily_loss(None, Some((dec!(10000), dec!(9990))));
        assert_eq!(d.room_left, None);
        assert_eq!(d.today_pnl.as_deref(), Some("-10"));
    }
}
