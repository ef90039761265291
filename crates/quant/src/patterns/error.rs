use thiserror::Error;

/// Why a pattern scan refused its inputs. Messages name the offending input, because they reach
/// a person through Claude and must say what to fix.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PatternError {
    #[error(
        "OHLC columns have different lengths (open {open}, high {high}, low {low}, close {close}); \
         every bar needs all four prices"
    )]
    LengthMismatch {
        open: usize,
        high: usize,
        low: usize,
        close: usize,
    },
    #[error("{param} must be {expected}, got {value}")]
    InvalidParam {
        param: &'static str,
        expected: &'static str,
        value: f64,
    },
}
