//! Queries behind summary, senders, export.
