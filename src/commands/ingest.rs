//! `dmarcwatch ingest PATH...` and `dmarcwatch reprocess`: store reports,
//! one transaction per message or file, a progress bar on a terminal, one
//! line per failed input on stderr and one closing line of totals.

use crate::extract::ExtractLimits;
use crate::source::Units;
use crate::store::{IngestStats, Store, StoreError, UnitResult};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

pub fn run(
    store: &mut Store,
    paths: &[PathBuf],
    limits: &ExtractLimits,
    quiet: bool,
) -> Result<IngestStats, StoreError> {
    let progress = progress_bar(quiet);
    let mut stats = IngestStats::default();
    for unit in Units::new(paths, limits.max_message_bytes) {
        let result = match unit {
            Ok(unit) => store.ingest_unit(unit, limits)?,
            Err(e) => UnitResult {
                origin: e.origin,
                outcome: crate::extract::Outcome {
                    errors: vec![e.message],
                    ..Default::default()
                },
                ..Default::default()
            },
        };
        report_problems(&progress, &result);
        stats.add(&result);
        progress.set_message(stats.to_string());
        progress.tick();
    }
    progress.finish_and_clear();
    Ok(stats)
}

/// `dmarcwatch reprocess`: read again what failed and was kept.
pub fn reprocess(store: &mut Store, limits: &ExtractLimits) -> Result<IngestStats, StoreError> {
    let mut stats = IngestStats::default();
    for result in store.reprocess(limits)? {
        report_problems(&ProgressBar::hidden(), &result);
        stats.add(&result);
    }
    Ok(stats)
}

fn report_problems(progress: &ProgressBar, result: &UnitResult) {
    let kind = if result.failed() { "error" } else { "warning" };
    for e in &result.outcome.errors {
        progress.suspend(|| eprintln!("{}: {kind}: {e}", result.origin));
    }
}

fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
