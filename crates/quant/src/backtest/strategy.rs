//! The strategy language (to come).
