//! The optimiser (to come).
