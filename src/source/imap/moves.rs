//! Moving stored messages out of the folder, the best way the server allows:
//! `UID MOVE` (RFC 6851, atomic), else `UID COPY` + `\Deleted` + `UID
//! EXPUNGE` (RFC 4315 UIDPLUS: expunges only these messages), else `UID
//! COPY` + `\Deleted` + `EXPUNGE` (also expunges what other clients marked
//! deleted in the folder). Without MOVE a crash between COPY and EXPUNGE
//! leaves a copy in both folders; the next pass stores nothing twice and
//! moves it again.

use super::connect::{Capabilities, Session};
use super::{timed, COMMAND_TIMEOUT};
use futures::TryStreamExt;

/// How messages leave the folder on this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Move,
    CopyUidExpunge,
    CopyExpunge,
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Strategy::Move => "UID MOVE",
            Strategy::CopyUidExpunge => "UID COPY + UID EXPUNGE",
            Strategy::CopyExpunge => "UID COPY + EXPUNGE",
        })
    }
}

impl Strategy {
    pub fn for_server(caps: &Capabilities) -> Strategy {
        if caps.move_ {
            Strategy::Move
        } else if caps.uidplus {
            Strategy::CopyUidExpunge
        } else {
            Strategy::CopyExpunge
        }
    }
}

/// Move the messages `uids` (of the selected folder) to `destination`.
pub async fn move_uids(
    session: &mut Session,
    strategy: Strategy,
    uids: &[u32],
    destination: &str,
) -> Result<(), String> {
    if uids.is_empty() {
        return Ok(());
    }
    let set = uid_set(uids);
    match strategy {
        Strategy::Move => {
            timed(
                COMMAND_TIMEOUT,
                &format!("UID MOVE to {destination:?}"),
                session.uid_mv(&set, destination),
            )
            .await
        }
        Strategy::CopyUidExpunge | Strategy::CopyExpunge => {
            timed(
                COMMAND_TIMEOUT,
                &format!("UID COPY to {destination:?}"),
                session.uid_copy(&set, destination),
            )
            .await?;
            timed(COMMAND_TIMEOUT, "UID STORE +FLAGS (\\Deleted)", async {
                session
                    .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?;
            if strategy == Strategy::CopyUidExpunge {
                timed(COMMAND_TIMEOUT, "UID EXPUNGE", async {
                    session
                        .uid_expunge(&set)
                        .await?
                        .try_collect::<Vec<_>>()
                        .await
                })
                .await?;
            } else {
                timed(COMMAND_TIMEOUT, "EXPUNGE", async {
                    session.expunge().await?.try_collect::<Vec<_>>().await
                })
                .await?;
            }
            Ok(())
        }
    }
}

/// `1:3,7,9:10` for 1, 2, 3, 7, 9, 10 (input sorted or not).
pub fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_compress_runs() {
        assert_eq!(uid_set(&[9, 1, 2, 3, 7, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[4, 4, 5]), "4:5");
    }

    #[test]
    fn strategy_follows_capabilities() {
        let mut caps = Capabilities::default();
        assert_eq!(Strategy::for_server(&caps), Strategy::CopyExpunge);
        caps.uidplus = true;
        assert_eq!(Strategy::for_server(&caps), Strategy::CopyUidExpunge);
        caps.move_ = true;
        assert_eq!(Strategy::for_server(&caps), Strategy::Move);
    }
}
