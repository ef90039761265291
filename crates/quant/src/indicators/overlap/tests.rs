//! Unit and property tests of the overlap studies.
