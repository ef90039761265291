//! The offline provider: real history shipped inside the binary (see `data/README.md` for its
//! provenance), parsed on first use so a sidecar that only lists its tools starts instantly.

use std::str::FromStr;
use std::sync::OnceLock;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use quantdesk_domain::{
    AssetClass, Bar, BarSeries, Decimal, OptionChain, PriceSnapshot, Provenance, Symbol,
    SymbolInfo, Timeframe,
};

use crate::{BarsRequest, ChainRequest, MarketData, MarketError, resample};

const NAME: &str = "bundled";

#[derive(Debug)]
struct Dataset {
    symbol: &'static str,
    /// Other spellings people use for the same series (`BTC/USD` for `BTCUSD`).
    aliases: &'static [&'static str],
    name: &'static str,
    asset_class: AssetClass,
    base: Timeframe,
    csv: &'static str,
    bars: OnceLock<Result<Vec<Bar>, String>>,
}

impl Dataset {
    const fn new(
        symbol: &'static str,
        aliases: &'static [&'static str],
        name: &'static str,
        asset_class: AssetClass,
        base: Timeframe,
        csv: &'static str,
    ) -> Self {
        Self {
            symbol,
            aliases,
            name,
            asset_class,
            base,
            csv,
            bars: OnceLock::new(),
        }
    }

    fn matches(&self, symbol: &Symbol) -> bool {
        self.symbol == symbol.as_str() || self.aliases.contains(&symbol.as_str())
    }

    fn bars(&self) -> Result<&[Bar], MarketError> {
        self.bars
            .get_or_init(|| parse_csv(self.csv))
            .as_deref()
            .map_err(|message| MarketError::BadResponse {
                provider: NAME,
                message: message.clone(),
            })
    }

    fn symbol(&self) -> Symbol {
        // The table below holds only valid symbols; a test parses every one.
        Symbol::parse(self.symbol)
            .unwrap_or_else(|_| unreachable!("bundled symbol {}", self.symbol))
    }

    fn info(&self) -> SymbolInfo {
        SymbolInfo {
            symbol: self.symbol(),
            name: self.name.to_string(),
            asset_class: self.asset_class,
            base_timeframe: self.base,
        }
    }

    fn span(&self) -> Result<String, MarketError> {
        let bars = self.bars()?;
        Ok(match (bars.first(), bars.last()) {
            (Some(first), Some(last)) => format!(
                "{} bars from {} to {}",
                self.base,
                format_time(first.time),
                format_time(last.time)
            ),
            _ => "no bars".to_string(),
        })
    }
}

static DATASETS: [Dataset; 4] = [
    Dataset::new(
        "GOOG",
        &[],
        "Google Inc. (NASDAQ:GOOG), pre-split prices",
        AssetClass::Stock,
        Timeframe::DAY,
        include_str!("../data/GOOG.csv"),
    ),
    Dataset::new(
        "SPX",
        &["^GSPC", "^SPX", "SP500", "S&P500"],
        "S&P 500 index",
        AssetClass::Index,
        Timeframe::DAY,
        include_str!("../data/SPX.csv"),
    ),
    Dataset::new(
        "EURUSD",
        &["EUR/USD"],
        "Euro / US dollar",
        AssetClass::Forex,
        Timeframe::HOUR,
        include_str!("../data/EURUSD.csv"),
    ),
    Dataset::new(
        "BTCUSD",
        &["BTC/USD", "BTC-USD", "BTC"],
        "Bitcoin / US dollar",
        AssetClass::Crypto,
        Timeframe::MONTH,
        include_str!("../data/BTCUSD.csv"),
    ),
];

/// Daily bars at 00:00 UTC of their date; intraday ones at their stamped time, read as UTC.
fn format_time(time: DateTime<Utc>) -> String {
    if time.time() == chrono::NaiveTime::MIN {
        time.date_naive().to_string()
    } else {
        time.format("%Y-%m-%d %H:%M").to_string()
    }
}

fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(dt) = NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S") {
        return Some(dt.and_utc());
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
        .map(|dt| dt.and_utc())
}

/// Reads the shipped CSVs: first column the timestamp, then columns found by name
/// (`open`, `high`, `low`, `close`, `volume`, any case), so SPX's extra `adjclose` is ignored.
fn parse_csv(text: &str) -> Result<Vec<Bar>, String> {
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .ok_or("empty data file")?
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("data file has no '{name}' column"))
    };
    let (o, h, l, c, v) = (
        col("open")?,
        col("high")?,
        col("low")?,
        col("close")?,
        col("volume")?,
    );
    let mut bars = Vec::with_capacity(text.len() / 48);
    for (n, line) in lines
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
    {
        let fields: Vec<&str> = line.split(',').collect();
        let bad = || format!("line {} of a bundled data file is malformed: {line}", n + 2);
        let num = |i: usize| {
            fields
                .get(i)
                .and_then(|f| Decimal::from_str(f.trim()).ok())
                .ok_or_else(bad)
        };
        let time = fields
            .first()
            .and_then(|f| parse_time(f.trim()))
            .ok_or_else(bad)?;
        bars.push(Bar {
            time,
            open: num(o)?,
            high: num(h)?,
            low: num(l)?,
            close: num(c)?,
            volume: num(v)?,
        });
    }
    Ok(bars)
}

/// The provider over the shipped history. Cheap to construct; data is parsed on first use.
#[derive(Debug, Default, Clone, Copy)]
pub struct BundledProvider;

impl BundledProvider {
    pub fn new() -> Self {
        Self
    }

    fn dataset(&self, symbol: &Symbol) -> Result<&'static Dataset, MarketError> {
        DATASETS
            .iter()
            .find(|d| d.matches(symbol))
            .ok_or_else(|| MarketError::UnknownSymbol {
                symbol: symbol.clone(),
                provider: NAME,
                known: DATASETS
                    .iter()
                    .map(|d| d.symbol)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The bars of `request`, resampled from the dataset's native timeframe where that is exact.
    fn select(&self, request: &BarsRequest) -> Result<(&'static Dataset, Vec<Bar>), MarketError> {
        request.validate()?;
        let data = self.dataset(&request.symbol)?;
        if !request.timeframe.can_resample_from(data.base) {
            let reason = format!(
                "its bundled history is {} bars ({}), which cannot be split into {} bars",
                data.base,
                data.span()?,
                request.timeframe
            );
            return Err(MarketError::UnsupportedTimeframe {
                symbol: data.symbol(),
                timeframe: request.timeframe,
                provider: NAME,
                reason,
            });
        }
        let all = data.bars()?;
        let from = request
            .start
            .map_or(0, |s| all.partition_point(|b| b.time < s));
        let to = request
            .end
            .map_or(all.len(), |e| all.partition_point(|b| b.time <= e));
        let in_range = all.get(from..to.max(from)).unwrap_or_default();
        let mut bars = if request.timeframe == data.base {
            in_range.to_vec()
        } else {
            resample(in_range, request.timeframe)
        };
        if bars.is_empty() {
            let fmt = |t: Option<DateTime<Utc>>| t.map_or("the start".to_string(), format_time);
            return Err(MarketError::NoData {
                symbol: data.symbol(),
                provider: NAME,
                start: fmt(request.start),
                end: request.end.map_or("the end".to_string(), format_time),
                available: data.span()?,
            });
        }
        if let Some(limit) = request.limit {
            if request.start.is_some() {
                bars.truncate(limit);
            } else if bars.len() > limit {
                bars.drain(..bars.len() - limit);
            }
        }
        Ok((data, bars))
    }

    /// Closing prices of the daily history, for models that need realised volatility.
    fn daily(&self, symbol: &Symbol) -> Result<&'static [Bar], MarketError> {
        let data = self.dataset(symbol)?;
        if data.base != Timeframe::DAY {
            return Err(MarketError::Unsupported(format!(
                "no options for {}: model chains are priced from daily history, and the bundled {} data is {} bars",
                data.symbol, data.symbol, data.base
            )));
        }
        data.bars()
    }
}

#[async_trait]
impl MarketData for BundledProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn symbols(&self) -> Result<Vec<SymbolInfo>, MarketError> {
        Ok(DATASETS.iter().map(Dataset::info).collect())
    }

    async fn bars(&self, request: &BarsRequest) -> Result<BarSeries, MarketError> {
        let (data, bars) = self.select(request)?;
        let as_of = bars.last().map_or(DateTime::UNIX_EPOCH, |b| b.time);
        Ok(BarSeries {
            symbol: data.symbol(),
            timeframe: request.timeframe,
            bars,
            provenance: Provenance {
                source: NAME.to_string(),
                as_of,
            },
        })
    }

    async fn snapshot(&self, symbol: &Symbol) -> Result<PriceSnapshot, MarketError> {
        let data = self.dataset(symbol)?;
        let all = data.bars()?;
        // Sessions are days, except where the history is coarser than that (monthly BTC).
        let session_tf = if data.base.approx_minutes() < Timeframe::DAY.approx_minutes() {
            Timeframe::DAY
        } else {
            data.base
        };
        let tail_start = all.len().saturating_sub(24 * 10);
        let sessions = if session_tf == data.base {
            all[tail_start..].to_vec()
        } else {
            resample(&all[tail_start..], session_tf)
        };
        let (Some(last_bar), Some(session)) = (all.last(), sessions.last()) else {
            return Err(MarketError::BadResponse {
                provider: NAME,
                message: format!("no bars for {}", data.symbol),
            });
        };
        let previous_close = sessions
            .len()
            .checked_sub(2)
            .and_then(|i| sessions.get(i))
            .map(|b| b.close);
        let provenance = Provenance {
            source: NAME.to_string(),
            as_of: last_bar.time,
        };
        Ok(PriceSnapshot::from_session(
            data.symbol(),
            last_bar.close,
            session,
            session_tf,
            previous_close,
            provenance,
        ))
    }

    async fn option_chain(&self, request: &ChainRequest) -> Result<OptionChain, MarketError> {
        let bars = self.daily(&request.underlying)?;
        let data = self.dataset(&request.underlying)?;
        let last = bars.last().ok_or_else(|| MarketError::BadResponse {
            provider: NAME,
            message: format!("no bars for {}", data.symbol),
        })?;
        crate::model::chain_from_daily(&data.symbol(), bars, last.time, request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn provider() -> BundledProvider {
        BundledProvider::new()
    }

    fn sym(s: &str) -> Symbol {
        Symbol::parse(s).unwrap()
    }

    #[test]
    fn every_shipped_file_parses_completely() {
        let rows = |csv: &str| csv.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
        for d in &DATASETS {
            let bars = d.bars().unwrap();
            assert_eq!(bars.len(), rows(d.csv), "{}", d.symbol);
            assert!(
                bars.windows(2).all(|w| w[0].time < w[1].time),
                "{} not sorted",
                d.symbol
            );
            assert!(bars.iter().all(|b| b.low <= b.high), "{}", d.symbol);
            Symbol::parse(d.symbol).unwrap();
        }
    }

    #[tokio::test]
    async fn goog_daily_is_the_whole_csv() {
        let s = provider()
            .bars(&BarsRequest::new(sym("goog"), Timeframe::DAY))
            .await
            .unwrap();
        assert_eq!(s.bars.len(), 2148);
        assert_eq!(s.bars[0].time.date_naive().to_string(), "2004-08-19");
        assert_eq!(s.bars[0].close, dec!(100.34));
        assert_eq!(s.bars.last().unwrap().close, dec!(806.19));
        assert_eq!(s.provenance.source, "bundled");
        assert_eq!(s.provenance.as_of.date_naive().to_string(), "2013-03-01");
    }

    #[tokio::test]
    async fn goog_snapshot_is_the_last_close() {
        let s = provider().snapshot(&sym("GOOG")).await.unwrap();
        assert_eq!(s.price, dec!(806.19));
        assert_eq!(s.day_high, dec!(807.14));
        assert_eq!(s.previous_close, Some(dec!(801.20)));
    }

    #[tokio::test]
    async fn limits_take_the_newest_bars_without_a_start() {
        let mut req = BarsRequest::new(sym("SPX"), Timeframe::DAY);
        req.limit = Some(3);
        let s = provider().bars(&req).await.unwrap();
        assert_eq!(s.bars.len(), 3);
        assert_eq!(s.bars[2].time.date_naive().to_string(), "2020-04-17");
        req.start = Some(parse_time("2008-01-01").unwrap());
        let s = provider().bars(&req).await.unwrap();
        assert_eq!(s.bars[0].time.date_naive().to_string(), "2008-01-02");
    }

    #[tokio::test]
    async fn errors_name_the_problem() {
        let p = provider();
        let err = p
            .bars(&BarsRequest::new(sym("AAPL"), Timeframe::DAY))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("AAPL") && err.to_string().contains("GOOG"),
            "{err}"
        );
        let err = p
            .bars(&BarsRequest::new(sym("GOOG"), Timeframe::HOUR))
            .await
            .unwrap_err();
        assert!(
            matches!(err, MarketError::UnsupportedTimeframe { .. }),
            "{err}"
        );
        let mut req = BarsRequest::new(sym("GOOG"), Timeframe::DAY);
        req.start = parse_time("2012-01-01");
        req.end = parse_time("2011-01-01");
        assert!(matches!(
            p.bars(&req).await.unwrap_err(),
            MarketError::InvalidRange { .. }
        ));
        req.start = parse_time("2020-01-01");
        req.end = parse_time("2021-01-01");
        let err = p.bars(&req).await.unwrap_err();
        assert!(err.to_string().contains("2004-08-19"), "{err}");
    }

    #[tokio::test]
    async fn aliases_find_pairs() {
        let s = provider().snapshot(&sym("btc/usd")).await.unwrap();
        assert_eq!(s.symbol.as_str(), "BTCUSD");
        assert_eq!(s.price, dec!(93381.0));
    }

    #[tokio::test]
    async fn hourly_fx_resamples_to_days() {
        let mut req = BarsRequest::new(sym("EURUSD"), Timeframe::DAY);
        req.limit = Some(2);
        let s = provider().bars(&req).await.unwrap();
        assert_eq!(
            s.bars.last().unwrap().time.date_naive().to_string(),
            "2018-02-07"
        );
        assert_eq!(s.bars.last().unwrap().close, dec!(1.22904));
    }
}
