//! The commands `main` dispatches to (the binary's, not the library's): the platform's offline
//! issuing and this computer's key.

pub(crate) mod issuing;
pub(crate) mod local;
