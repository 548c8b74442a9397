//! Enrichment, behind the pipe: who the source addresses are and whether
//! DNS blocklists list our own. Nothing here runs inside ingestion: the CLI
//! calls [`catch_up`] after an ingest and the daemon on a schedule, and the
//! answers land in SQLite (`v_ip_info`, `v_sources.ptr/service`,
//! `v_blocklist`), where a failed lookup never erases what was known.
//!
//! - [`dns`]: the hickory resolver from `[dns]` / `[blocklist] nameservers`
//! - [`reverse`]: forward-confirmed PTR names, and the catch-up pass
//! - [`ip_cache`]: the `ip_info` cache with TTL and negative cache
//! - [`base_domain`] (Public Suffix List) and [`services`] (PTR suffix → service)
//! - [`blocklist`]: DNSBL checks, state per address × zone, change alerts
//! - [`jobs`]: both as daemon jobs

pub mod base_domain;
pub mod blocklist;
pub mod dns;
pub mod ip_cache;
pub mod jobs;
pub mod reverse;
pub mod services;

pub use reverse::{catch_up, CatchUp};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    /// A config value or the system resolver config that cannot be used.
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Alert(String),
}

impl From<rusqlite::Error> for EnrichError {
    fn from(e: rusqlite::Error) -> Self {
        EnrichError::Store(StoreError::Sql(e))
    }
}
