//! One module per command of the command line; `main.rs` only dispatches.
//! What every command shares: the loaded config, where the database is,
//! and how to print (tables for people, JSON lines for scripts).

pub mod alerts;
pub mod blocklist;
pub mod check_config;
pub mod export;
pub mod fetch;
pub mod ingest;
pub mod parse;
pub mod run;
pub mod senders;
pub mod summary;

use crate::config::Config;
use crate::store::{approvals, Store, StoreError};
use std::path::PathBuf;

pub struct Context {
    pub config: Config,
    /// `--db`, else `[database] path`.
    pub db_path: PathBuf,
    pub json: bool,
    pub quiet: bool,
}

impl Context {
    /// Open the database and bring the config's approved sources into it.
    pub fn open_store(&self) -> Result<Store, StoreError> {
        let mut store = Store::open(&self.db_path)?;
        store.keep_raw = self.config.database.keep_raw;
        let entries: Vec<(String, String)> = self
            .config
            .domains
            .iter()
            .flat_map(|d| {
                d.approved_sources
                    .iter()
                    .map(move |s| (d.name.to_ascii_lowercase(), s.clone()))
            })
            .collect();
        approvals::sync_config(store.conn_mut(), &entries)?;
        Ok(store)
    }
}

/// The async runtime for one command's network work (IMAP, SMTP, HTTP,
/// DNS): one thread, the CLI waits for it.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context as _;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `12.3%` for people.
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}
