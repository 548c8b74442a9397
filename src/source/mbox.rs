//! Streaming mbox reader: one message at a time, split at `From ` lines that
//! follow a blank line (or open the file), so a mailbox export of any size
//! needs only one message's worth of memory.

use std::io::{self, BufRead};

pub struct MboxMessages<R> {
    reader: R,
    /// The `From ` line that opens the next message, already read.
    next_separator: bool,
    max_message_bytes: u64,
    index: usize,
    done: bool,
}

/// One message of an mbox, without its `From ` separator line.
pub struct MboxMessage {
    /// 1-based position in the file.
    pub index: usize,
    pub bytes: Vec<u8>,
    /// Set when the message was larger than the limit and cut.
    pub oversized: bool,
}

impl<R: BufRead> MboxMessages<R> {
    pub fn new(reader: R, max_message_bytes: u64) -> Self {
        MboxMessages {
            reader,
            next_separator: false,
            max_message_bytes,
            index: 0,
            done: false,
        }
    }
}

/// `From sender date`: the line that opens each message of an mbox.
pub fn is_separator(line: &[u8]) -> bool {
    line.strip_prefix(b"From ")
        .is_some_and(|rest| !rest.trim_ascii().is_empty())
}

impl<R: BufRead> Iterator for MboxMessages<R> {
    type Item = io::Result<MboxMessage>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut bytes = Vec::new();
        let mut line = Vec::new();
        let mut oversized = false;
        let mut prev_blank = true;
        let mut first = !self.next_separator;
        loop {
            line.clear();
            match self.reader.read_until(b'\n', &mut line) {
                Ok(0) => {
                    self.done = true;
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
            if is_separator(&line) && prev_blank {
                if first {
                    // The separator that opens the very first message.
                    first = false;
                    continue;
                }
                self.next_separator = true;
                break;
            }
            first = false;
            prev_blank = line == b"\n" || line == b"\r\n";
            if bytes.len() as u64 + line.len() as u64 > self.max_message_bytes {
                oversized = true;
            } else {
                bytes.extend_from_slice(&line);
            }
        }
        if bytes.iter().all(u8::is_ascii_whitespace) && !oversized {
            return if self.done { None } else { self.next() };
        }
        self.index += 1;
        Some(Ok(MboxMessage {
            index: self.index,
            bytes,
            oversized,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(data: &[u8], limit: u64) -> Vec<(usize, String, bool)> {
        MboxMessages::new(data, limit)
            .map(|m| m.expect("in-memory read"))
            .map(|m| {
                (
                    m.index,
                    String::from_utf8_lossy(&m.bytes).into_owned(),
                    m.oversized,
                )
            })
            .collect()
    }

    #[test]
    fn splits_at_from_lines_after_blank_lines() {
        let data = b"From a@b Thu Jan  1 00:00:00 2026\nSubject: one\n\n>From here on, body\n\nFrom c@d Fri Jan  2 00:00:00 2026\nSubject: two\n\nbody\n";
        let got = split(data, 1 << 20);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, "Subject: one\n\n>From here on, body\n\n");
        assert_eq!(got[1].1, "Subject: two\n\nbody\n");
        assert_eq!((got[1].0, got[1].2), (2, false));
    }

    #[test]
    fn oversized_message_is_flagged_not_buffered() {
        let mut data = b"From x\nSubject: big\n\n".to_vec();
        data.extend(std::iter::repeat_n(b'a', 5000));
        data.extend_from_slice(b"\n\nFrom y\nSubject: small\n\nx\n");
        let got = split(&data, 1000);
        assert_eq!(got.len(), 2);
        assert!(got[0].2 && got[0].1.len() <= 1000);
        assert!(!got[1].2);
    }
}
