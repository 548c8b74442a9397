//! One module per command of the command line; `main.rs` only dispatches.

pub mod parse;
