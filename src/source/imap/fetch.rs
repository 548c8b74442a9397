//! One pass over a mailbox folder. SELECT gives the UIDVALIDITY; one `UID
//! FETCH 1:* (UID RFC822.SIZE)` lists what waits; the messages are then
//! fetched in chunks (at most [`CHUNK_MESSAGES`] messages and about
//! [`CHUNK_BYTES`] bytes, so memory stays flat whatever the folder holds)
//! with `BODY.PEEK[]` (nothing is marked seen), each stored in its own
//! transaction, and moved only once the chunk's commits are on disk (the
//! last commit of a chunk is synced, which syncs the ones before it). While
//! a chunk is being stored the connection is kept alive with NOOP. A stop
//! request finishes the message in hand and returns; what it stored without
//! the sync stays in the folder and is recognised as stored next time.

use super::commit::{store_with_keepalive, CommitContext, Fetched, StoreHandle};
use super::connect::Connection;
use super::folders;
use super::moves::{self, Strategy};
use super::{timed, MailboxError, COMMAND_TIMEOUT};
use crate::config::MailboxConfig;
use crate::extract::ExtractLimits;
use crate::store::UnitResult;
use futures::TryStreamExt;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Most messages fetched with one command.
pub const CHUNK_MESSAGES: usize = 50;
/// About the most message bytes held in memory at once (one larger message
/// is fetched alone).
pub const CHUNK_BYTES: u64 = 8 * 1024 * 1024;
/// Fetching one chunk may take this long (8 MB on a slow line).
const FETCH_TIMEOUT: Duration = Duration::from_secs(600);
/// Progress lines on long passes, at most this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// What one pass (or several) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassStats {
    /// Messages stored (reports or failures recorded).
    pub messages: usize,
    pub new_reports: usize,
    pub duplicates: usize,
    pub records: u64,
    /// Messages in which nothing parsed (moved to invalid_folder).
    pub invalid: usize,
    /// Messages moved out of the folder.
    pub moved: usize,
    /// The pass ended early on a stop request.
    pub stopped: bool,
}

impl PassStats {
    fn add(&mut self, r: &UnitResult) {
        self.messages += 1;
        self.new_reports += r.new_reports;
        self.duplicates += r.duplicates;
        self.records += r.records;
        if r.failed() {
            self.invalid += 1;
        }
    }

    pub fn merge(&mut self, other: &PassStats) {
        self.messages += other.messages;
        self.new_reports += other.new_reports;
        self.duplicates += other.duplicates;
        self.records += other.records;
        self.invalid += other.invalid;
        self.moved += other.moved;
        self.stopped |= other.stopped;
    }
}

impl std::fmt::Display for PassStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} messages, {} reports new, {} duplicates, {} invalid, {} records",
            self.messages, self.new_reports, self.duplicates, self.invalid, self.records
        )
    }
}

/// A waiting message: its UID and size (from RFC822.SIZE).
#[derive(Debug, Clone, Copy)]
struct Waiting {
    uid: u32,
    size: u64,
}

/// What a pass works with besides the connection.
pub struct PassInput<'a> {
    pub mailbox: &'a MailboxConfig,
    pub store: &'a StoreHandle,
    pub limits: &'a ExtractLimits,
    /// Turns true on a stop request: finish the message in hand, move, return.
    pub stop: &'a watch::Receiver<bool>,
}

/// Passes until the folder is empty, a stop is requested, or a pass moves
/// nothing (so a message that cannot be moved is not fetched forever).
pub async fn drain(
    conn: &mut Connection,
    input: &PassInput<'_>,
) -> Result<PassStats, MailboxError> {
    let mut total = PassStats::default();
    loop {
        let stats = pass(conn, input).await?;
        total.merge(&stats);
        if stats.stopped || stats.moved == 0 {
            return Ok(total);
        }
    }
}

/// One pass: everything waiting in the folder when it starts.
pub async fn pass(conn: &mut Connection, input: &PassInput<'_>) -> Result<PassStats, MailboxError> {
    let PassInput {
        mailbox,
        store,
        limits,
        stop,
    } = *input;
    let label = conn.label.clone();
    let err = |message: String| MailboxError::new(&label, message);
    for name in [&mailbox.processed_folder, &mailbox.invalid_folder] {
        folders::ensure(&mut conn.session, name, &mailbox.name)
            .await
            .map_err(err)?;
    }
    let folder = &mailbox.folder;
    // What the server said before this SELECT is old news for `idle::wait`.
    super::idle::clear_news(&conn.session);
    let selected = timed(
        COMMAND_TIMEOUT,
        &format!("SELECT {folder:?}"),
        conn.session.select(folder),
    )
    .await
    .map_err(|e| err(format!("{e} (check the folder name)")))?;
    let Some(uid_validity) = selected.uid_validity else {
        return Err(err(format!(
            "the server gave no UIDVALIDITY for {folder:?}; cannot track messages safely"
        )));
    };
    let mut stats = PassStats::default();
    if selected.exists == 0 {
        return Ok(stats);
    }
    let waiting = list_waiting(conn).await.map_err(err)?;
    let strategy = Strategy::for_server(&conn.caps);
    let job = CommitContext {
        mailbox: mailbox.name.clone(),
        folder: folder.clone(),
        processed_folder: mailbox.processed_folder.clone(),
        invalid_folder: mailbox.invalid_folder.clone(),
        uid_validity,
        limits: limits.clone(),
        store: store.clone(),
        stop: stop.clone(),
    };
    let started = Instant::now();
    let mut last_progress = started;
    let chunks = plan_chunks(&waiting, limits.max_message_bytes);
    tracing::info!(
        "{}: {} messages waiting in {folder:?} (UIDVALIDITY {uid_validity})",
        mailbox.name,
        waiting.len()
    );
    for chunk in chunks {
        if *stop.borrow() {
            stats.stopped = true;
            break;
        }
        let fetched = fetch_chunk(conn, &chunk, limits.max_message_bytes)
            .await
            .map_err(err)?;
        let outcome = store_with_keepalive(conn, &job, fetched)
            .await
            .map_err(err)?;
        let mut processed = Vec::new();
        let mut invalid = Vec::new();
        for (uid, result) in &outcome.stored[..outcome.durable] {
            stats.add(result);
            if result.failed() {
                invalid.push(*uid);
            } else {
                processed.push(*uid);
            }
        }
        for (uids, destination) in [
            (&processed, &mailbox.processed_folder),
            (&invalid, &mailbox.invalid_folder),
        ] {
            if !uids.is_empty() {
                tracing::debug!(
                    "{}: moving {} messages to {destination:?} by {strategy}",
                    mailbox.name,
                    uids.len()
                );
            }
            moves::move_uids(&mut conn.session, strategy, uids, destination)
                .await
                .map_err(|e| err(format!("moving stored messages failed: {e}")))?;
            stats.moved += uids.len();
        }
        if let Some(e) = outcome.error {
            return Err(err(e));
        }
        if outcome.stopped {
            stats.stopped = true;
            break;
        }
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            let rate = stats.messages as f64 / started.elapsed().as_secs_f64().max(0.001);
            tracing::info!(
                "{}: {} of {} messages done ({rate:.0}/s)",
                mailbox.name,
                stats.messages,
                waiting.len()
            );
        }
    }
    if stats.messages > 0 {
        tracing::info!(
            "{}: pass over {folder:?} done in {:.1} s: {stats}",
            mailbox.name,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(stats)
}

/// Every message in the selected folder with its size, by UID.
async fn list_waiting(conn: &mut Connection) -> Result<Vec<Waiting>, String> {
    let session = &mut conn.session;
    // Each answer is turned into 16 bytes as it comes: a response keeps a
    // buffer of its own, 10,000 of them would hold tens of MB.
    let mut waiting = timed(FETCH_TIMEOUT, "UID FETCH (RFC822.SIZE)", async {
        let mut stream = session.uid_fetch("1:*", "(UID RFC822.SIZE)").await?;
        let mut waiting = Vec::new();
        while let Some(fetch) = stream.try_next().await? {
            if let Some(uid) = fetch.uid {
                let size = u64::from(fetch.size.unwrap_or(0));
                waiting.push(Waiting { uid, size });
            }
        }
        Ok(waiting)
    })
    .await?;
    waiting.sort_by_key(|w| w.uid);
    waiting.dedup_by_key(|w| w.uid);
    Ok(waiting)
}

/// Consecutive runs of messages within the count and byte budgets.
fn plan_chunks(waiting: &[Waiting], max_message_bytes: u64) -> Vec<Vec<u32>> {
    let mut chunks = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0u64;
    for w in waiting {
        let size = w.size.min(max_message_bytes + 1);
        if !current.is_empty() && (current.len() >= CHUNK_MESSAGES || bytes + size > CHUNK_BYTES) {
            chunks.push(std::mem::take(&mut current));
            bytes = 0;
        }
        current.push(w.uid);
        bytes += size;
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

async fn fetch_chunk(
    conn: &mut Connection,
    uids: &[u32],
    max_message_bytes: u64,
) -> Result<Vec<Fetched>, String> {
    let set = moves::uid_set(uids);
    // One byte past the limit tells an over-long message from one at it.
    let query = format!("(UID BODY.PEEK[]<0.{}>)", max_message_bytes + 1);
    let session = &mut conn.session;
    timed(FETCH_TIMEOUT, "UID FETCH BODY.PEEK[]", async {
        let mut stream = session.uid_fetch(&set, &query).await?;
        let mut out = Vec::with_capacity(uids.len());
        while let Some(fetch) = stream.try_next().await? {
            // A message expunged by another client meanwhile has no body.
            if let (Some(uid), Some(body)) = (fetch.uid, fetch.body()) {
                out.push(Fetched {
                    uid,
                    bytes: body.to_vec(),
                });
            }
        }
        Ok(out)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(sizes: &[u64]) -> Vec<Waiting> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| Waiting {
                uid: i as u32 + 1,
                size,
            })
            .collect()
    }

    #[test]
    fn chunks_respect_count_and_bytes() {
        let many = waiting(&vec![1000; 120]);
        let chunks = plan_chunks(&many, 1 << 20);
        assert_eq!(
            chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            [CHUNK_MESSAGES, CHUNK_MESSAGES, 120 - 2 * CHUNK_MESSAGES]
        );
        // Three 3 MB messages: two fit in 8 MB, the third starts a new chunk.
        let big = waiting(&[3 << 20, 3 << 20, 3 << 20]);
        let chunks = plan_chunks(&big, 64 << 20);
        assert_eq!(chunks, vec![vec![1, 2], vec![3]]);
        // A message over the budget is fetched alone.
        let huge = waiting(&[10, 20 << 20, 10]);
        assert_eq!(
            plan_chunks(&huge, 64 << 20),
            vec![vec![1], vec![2], vec![3]]
        );
    }
}
