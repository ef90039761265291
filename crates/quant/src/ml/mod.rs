//! Machine-learning signals: labels from future returns, and walk-forward cross-validation that is
//! purged and embargoed so no training row's label window touches a test row's (López de Prado,
//! "Advances in Financial Machine Learning", 2018, ch. 7).
//!
//! This module must never let a row's features read a bar after that row, nor let a training row
//! whose label looks into a test window stay in training: [`cv::check_no_leak`] proves it for any
//! set of splits and label windows, and the splitters here are checked with it.

pub mod cv;
pub mod features;
pub mod gbt;
pub mod labels;
pub mod logistic;
pub mod metrics;
pub mod series;
pub mod train;
