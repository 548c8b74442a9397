//! `dmarcwatch run`: the daemon; everything it does is in [`crate::daemon`].

use crate::config::Config;
use crate::daemon::{self, Options};
use std::path::PathBuf;

/// Run the daemon until SIGTERM/SIGINT. `config_path` is read again on SIGHUP.
pub fn run(
    config_path: Option<PathBuf>,
    db_override: Option<PathBuf>,
    config: Config,
) -> anyhow::Result<()> {
    daemon::run(
        Options {
            config_path,
            db_override,
        },
        config,
    )
}
