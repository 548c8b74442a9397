//! Where message bytes come from: paths given on the command line (files,
//! directories walked recursively in name order, mbox files split into
//! messages, `-` for standard input). Each [`Unit`] is one message or file:
//! the unit of work and of storage (one transaction each).

pub mod imap;
pub mod mbox;

use mbox::MboxMessages;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

const READ_BUFFER: usize = 64 * 1024;

/// The bytes of one unit: a stream (file, stdin) or a whole message.
pub enum Body {
    Reader(Box<dyn BufRead + Send>),
    Message(Vec<u8>),
}

pub struct Unit {
    /// Where it came from, for people: a path, `path#3` for the third
    /// message of an mbox, `-` for stdin, later `imap://mailbox/uid`.
    pub origin: String,
    pub body: Body,
    /// The file behind a `Body::Reader`, when there is one: its bytes can be
    /// read again (to keep a failed input) without buffering every stream.
    pub path: Option<PathBuf>,
}

/// A path that could not be read at all.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct SourceError {
    pub origin: String,
    pub message: String,
}

/// The units behind `paths`, in order. Directories are walked lazily.
pub struct Units {
    pending: Vec<PathBuf>,
    mbox: Option<(String, MboxMessages<Box<dyn BufRead + Send>>)>,
    max_message_bytes: u64,
}

impl Units {
    pub fn new(paths: &[PathBuf], max_message_bytes: u64) -> Self {
        let mut pending: Vec<PathBuf> = paths.to_vec();
        pending.reverse();
        Units {
            pending,
            mbox: None,
            max_message_bytes,
        }
    }

    fn next_from_mbox(&mut self) -> Option<Result<Unit, SourceError>> {
        let (origin, messages) = self.mbox.as_mut()?;
        let next = messages.next();
        let origin = origin.clone();
        match next {
            None => {
                self.mbox = None;
                None
            }
            Some(Err(e)) => {
                self.mbox = None;
                Some(Err(source_error(
                    &origin,
                    format!("reading the mbox failed: {e}"),
                )))
            }
            Some(Ok(m)) if m.oversized => Some(Err(source_error(
                &format!("{origin}#{}", m.index),
                format!(
                    "message larger than {} MB; skipped (raise [limits] max_message_bytes)",
                    self.max_message_bytes / (1024 * 1024)
                ),
            ))),
            Some(Ok(m)) => Some(Ok(Unit {
                origin: format!("{origin}#{}", m.index),
                body: Body::Message(m.bytes),
                path: None,
            })),
        }
    }

    /// A file or stdin: an mbox becomes a message stream, anything else one unit.
    fn open(
        &mut self,
        origin: String,
        path: Option<PathBuf>,
        reader: Box<dyn BufRead + Send>,
    ) -> Option<Result<Unit, SourceError>> {
        let mut reader = reader;
        let is_mbox = match peek(&mut reader, 5) {
            Ok(prefix) => mbox::is_separator(&prefix),
            Err(e) => return Some(Err(source_error(&origin, format!("cannot read: {e}")))),
        };
        if is_mbox {
            self.mbox = Some((origin, MboxMessages::new(reader, self.max_message_bytes)));
            return self.next();
        }
        Some(Ok(Unit {
            origin,
            body: Body::Reader(reader),
            path,
        }))
    }
}

impl Iterator for Units {
    type Item = Result<Unit, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(unit) = self.next_from_mbox() {
                return Some(unit);
            }
            let path = self.pending.pop()?;
            let origin = path.display().to_string();
            if origin == "-" {
                let stdin = BufReader::with_capacity(READ_BUFFER, io::stdin());
                return self.open(origin, None, Box::new(stdin));
            }
            match std::fs::metadata(&path) {
                Err(e) => return Some(Err(source_error(&origin, describe_io(&e)))),
                Ok(meta) if meta.is_dir() => match list_dir(&path) {
                    Ok(mut entries) => {
                        entries.reverse();
                        self.pending.extend(entries);
                    }
                    Err(e) => return Some(Err(source_error(&origin, describe_io(&e)))),
                },
                Ok(_) => match File::open(&path) {
                    Ok(f) => {
                        let reader = BufReader::with_capacity(READ_BUFFER, f);
                        return self.open(origin, Some(path), Box::new(reader));
                    }
                    Err(e) => return Some(Err(source_error(&origin, describe_io(&e)))),
                },
            }
        }
    }
}

/// Entries of a directory in name order, hidden files left out.
fn list_dir(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        entries.push(entry.path());
    }
    entries.sort();
    Ok(entries)
}

/// Fill the reader's buffer until it holds `n` bytes or the input ends.
pub fn peek(reader: &mut Box<dyn BufRead + Send>, n: usize) -> io::Result<Vec<u8>> {
    let buf = reader.fill_buf()?;
    Ok(buf[..buf.len().min(n)].to_vec())
}

fn source_error(origin: &str, message: String) -> SourceError {
    SourceError {
        origin: origin.to_string(),
        message,
    }
}

fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".into(),
        io::ErrorKind::PermissionDenied => {
            "permission denied (check the file's owner and mode)".into()
        }
        _ => e.to_string(),
    }
}
