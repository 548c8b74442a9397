//! dmarcwatch: DMARC aggregate reports from mailboxes and files into SQLite,
//! with alerts. The modules follow the pipe, in order:
//!
//! source bytes → [`mail`] (MIME → parts) → [`unpack`] (gzip/zip/zlib/xml,
//! size-bounded) → [`report`] (streaming XML → `Report`) → store → detect → alert.

pub mod alert;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod detect;
pub mod enrich;
pub mod extract;
pub mod mail;
pub mod report;
pub mod source;
pub mod store;
pub mod unpack;
