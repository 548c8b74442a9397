//! Storing a fetched chunk: on the blocking pool (SQLite is synchronous),
//! one transaction per message, and only the chunk's last commit waits for
//! fsync (`synchronous=FULL`): syncing the WAL makes every earlier commit of
//! the chunk durable too. Meanwhile the connection gets a NOOP now and then
//! so that a long ingest does not let the server time it out. What the
//! caller may move is what is known to be on disk (`durable`).

use super::connect::Connection;
use super::{origin, timed, COMMAND_TIMEOUT};
use crate::extract::ExtractLimits;
use crate::source::{Body, Unit};
use crate::store::{Store, UnitResult};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The store, shared by a mailbox task and the blocking thread that writes.
pub type StoreHandle = Arc<Mutex<Store>>;

/// A NOOP this often while storing keeps the server from timing us out.
const KEEPALIVE: Duration = Duration::from_secs(60);

/// A fetched message: its UID and bytes (at most max_message_bytes + 1).
pub(super) struct Fetched {
    pub uid: u32,
    pub bytes: Vec<u8>,
}

/// What storing a chunk gave.
pub(super) struct ChunkOutcome {
    /// The messages committed, in order.
    pub stored: Vec<(u32, UnitResult)>,
    /// How many of them are on disk for sure (may be moved).
    pub durable: usize,
    /// A database error that ended the chunk early.
    pub error: Option<String>,
    pub stopped: bool,
}

/// What the blocking thread needs to store a chunk.
#[derive(Clone)]
pub(super) struct CommitContext {
    pub mailbox: String,
    pub folder: String,
    pub processed_folder: String,
    pub invalid_folder: String,
    pub uid_validity: u32,
    pub limits: ExtractLimits,
    pub store: StoreHandle,
    pub stop: watch::Receiver<bool>,
}

/// Store the chunk on a blocking thread; meanwhile send NOOP now and then.
pub(super) async fn store_with_keepalive(
    conn: &mut Connection,
    job: &CommitContext,
    fetched: Vec<Fetched>,
) -> Result<ChunkOutcome, String> {
    let job = job.clone();
    let mut task = tokio::task::spawn_blocking(move || store_chunk(&job, fetched));
    loop {
        tokio::select! {
            done = &mut task => {
                return done.map_err(|e| format!("storing messages stopped: {e}"));
            }
            _ = tokio::time::sleep(KEEPALIVE) => {
                timed(COMMAND_TIMEOUT, "NOOP", conn.session.noop()).await?;
            }
        }
    }
}

fn store_chunk(job: &CommitContext, fetched: Vec<Fetched>) -> ChunkOutcome {
    let mut outcome = ChunkOutcome {
        stored: Vec::with_capacity(fetched.len()),
        durable: 0,
        error: None,
        stopped: false,
    };
    let mut store = match job.store.lock() {
        Ok(store) => store,
        Err(_) => {
            outcome.error = Some(
                "the database handle is unusable after a crash in another task; restart dmarcwatch"
                    .into(),
            );
            return outcome;
        }
    };
    // One transaction per message; only the last one of the chunk waits for
    // fsync (synchronous=FULL): syncing the WAL makes every earlier commit
    // of the chunk durable too, at one fsync per chunk instead of per message.
    let last = fetched.len().saturating_sub(1);
    for (i, message) in fetched.into_iter().enumerate() {
        if *job.stop.borrow() {
            outcome.stopped = true;
            break;
        }
        if let Err(e) = store.set_durable(i == last) {
            outcome.error = Some(format!("setting the database's sync mode failed: {e}"));
            break;
        }
        let origin = origin(&job.mailbox, &job.folder, job.uid_validity, message.uid);
        let body = if message.bytes.len() as u64 > job.limits.max_message_bytes {
            // Over the limit: the reader path reports it (and keeps no bytes).
            Body::Reader(Box::new(std::io::Cursor::new(message.bytes)))
        } else {
            Body::Message(message.bytes)
        };
        match store.ingest_unit(
            Unit {
                origin,
                body,
                path: None,
            },
            &job.limits,
        ) {
            Ok(result) => {
                log_message(job, message.uid, &result);
                outcome.stored.push((message.uid, result));
                if i == last {
                    outcome.durable = outcome.stored.len();
                }
            }
            Err(e) => {
                outcome.error = Some(format!(
                    "storing UID {} failed: {e}; the message stays in {:?} and is tried again",
                    message.uid, job.folder
                ));
                break;
            }
        }
    }
    let pending = outcome.stored.len() - outcome.durable;
    if pending > 0 {
        tracing::debug!(
            "{}: {pending} stored messages stay in {:?} until a durable commit \
             (read again next time, recognised as stored)",
            job.mailbox,
            job.folder
        );
    }
    outcome
}

/// One line per message with its outcome.
fn log_message(job: &CommitContext, uid: u32, r: &UnitResult) {
    let place = format!("{}: {} UID {uid}", job.mailbox, job.folder);
    if r.failed() {
        let why = r.outcome.error_text();
        tracing::warn!("{place}: no report ({why}) -> {}", job.invalid_folder);
        return;
    }
    let mut text = format!(
        "{} reports new, {} duplicates, {} records",
        r.new_reports, r.duplicates, r.records
    );
    if !r.outcome.errors.is_empty() {
        text.push_str(&format!("; problems: {}", r.outcome.errors.join("; ")));
        tracing::warn!("{place}: {text} -> {}", job.processed_folder);
    } else {
        tracing::info!("{place}: {text} -> {}", job.processed_folder);
    }
}
