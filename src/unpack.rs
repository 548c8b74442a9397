//! Containers: decide gzip / zip / zlib / plain XML by magic bytes and stream
//! the XML documents out of them, bounded by [`Limits`] before memory is spent.
//!
//! Every layer is sniffed again, so gzip in gzip, gzip in zip and zip in gzip
//! are walked up to [`Limits::max_depth`]. Gzip members are read one by one:
//! bytes after the last complete member that do not parse as a gzip header are
//! ignored as trailing garbage (Mimecast). Plain XML is handed over as is,
//! byte order mark included; decoding it is the XML parser's job.
//! `max_compressed_bytes` bounds the input of every decompressor (a gzip
//! inside a zip included), `max_xml_bytes` every document handed out.
//!
//! Errors found before a document starts are [`UnpackError`]s; errors found
//! while `f` reads a document are `io::Error`s wrapping an [`UnpackError`].

use std::borrow::Cow;
use std::io::{self, BufRead, BufReader, Cursor, Read};

use flate2::bufread::{GzDecoder, ZlibDecoder};
use zip::ZipArchive;

/// Bounds against decompression bombs. All checks happen while streaming.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest compressed input (a .gz/.zip file or attachment), in bytes.
    pub max_compressed_bytes: u64,
    /// Largest XML document after decompression, in bytes.
    pub max_xml_bytes: u64,
    /// Most members read from one zip archive.
    pub max_zip_members: usize,
    /// Deepest nesting of containers (gzip in zip in gzip ...).
    pub max_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_compressed_bytes: 25 * 1024 * 1024,
            max_xml_bytes: 500 * 1024 * 1024,
            max_zip_members: 1000,
            max_depth: 3,
        }
    }
}

/// Why an input is not (or no longer) a readable report. One-line messages,
/// without the file name: the caller prefixes it.
///
/// `place` names the stream, e.g. `gzip`, `zip member "a.xml"` or
/// `gzip in zip member "a.xml.gz"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnpackError {
    #[error("not a report: neither XML, gzip, zip nor zlib ({start})")]
    NotReport { start: String },
    #[error("{place} content is not XML ({start})")]
    NotXml { place: String, start: String },
    #[error("{place} stream is truncated")]
    Truncated { place: String },
    #[error("{place} stream is corrupt ({detail})")]
    Corrupt { place: String, detail: String },
    #[error("zip archive is unreadable ({0})")]
    Zip(String),
    #[error("zip archive holds no report file")]
    NoZipMember,
    #[error("zip archive has {count} members, more than the limit of {max} (raise [limits] max_zip_members)")]
    TooManyMembers { count: usize, max: usize },
    #[error("containers nest deeper than the limit of {max} (raise [limits] max_depth)")]
    TooDeep { max: u32 },
    #[error("compressed input is larger than the limit of {} (raise [limits] max_compressed_bytes)", size(*.max))]
    CompressedTooLarge { max: u64 },
    #[error("XML document is larger than the limit of {} (raise [limits] max_xml_bytes)", size(*.max))]
    XmlTooLarge { max: u64 },
    #[error("reading the input failed ({0})")]
    Read(String),
}

impl UnpackError {
    /// The same error as an `io::Error`, for readers handed to the caller.
    fn into_io(self) -> io::Error {
        let kind = match self {
            Self::CompressedTooLarge { .. } | Self::XmlTooLarge { .. } | Self::Read(_) => {
                io::ErrorKind::Other
            }
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, self)
    }
}

impl From<io::Error> for UnpackError {
    /// Unwraps errors this module raised inside a stream; anything else is a read failure.
    fn from(e: io::Error) -> Self {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<UnpackError>())
            .cloned()
            .unwrap_or_else(|| UnpackError::Read(e.to_string()))
    }
}

/// "500 MB" for whole megabytes, else the byte count.
fn size(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if bytes.is_multiple_of(MB) {
        format!("{} MB", bytes / MB)
    } else {
        format!("{bytes} bytes")
    }
}

/// One decompressed document handed to the caller.
pub struct Document<'a> {
    /// Where it came from inside the input: "" for the input itself (or a
    /// gzip/zlib of it), else the zip member path, nested zips joined with ':'
    /// (e.g. "outer.zip:a.xml").
    pub name: &'a str,
    pub reader: &'a mut dyn BufRead,
}

/// What the first bytes of a stream say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Gzip,
    Zip,
    Zlib,
    Xml,
    Unknown,
}

/// Bytes read ahead to decide a [`Container`]; XML may start with this much whitespace.
const SNIFF_LEN: usize = 1024;

/// Decide the container from the first bytes of a stream (up to [`SNIFF_LEN`] are used).
pub fn sniff(prefix: &[u8]) -> Container {
    match prefix {
        [0x1f, 0x8b, ..] => Container::Gzip,
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => Container::Zip,
        [0x78, 0x01 | 0x5e | 0x9c | 0xda, ..] => Container::Zlib,
        _ if looks_like_xml(prefix) => Container::Xml,
        _ => Container::Unknown,
    }
}

/// Optional byte order mark (UTF-8, UTF-16 LE/BE), optional whitespace, then `<`.
fn looks_like_xml(prefix: &[u8]) -> bool {
    if let Some(rest) = prefix.strip_prefix(b"\xEF\xBB\xBF") {
        starts_with_tag(rest.iter().map(|&b| u16::from(b)))
    } else if let Some(rest) = prefix.strip_prefix(b"\xFF\xFE") {
        starts_with_tag(
            rest.chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]])),
        )
    } else if let Some(rest) = prefix.strip_prefix(b"\xFE\xFF") {
        starts_with_tag(
            rest.chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]])),
        )
    } else {
        starts_with_tag(prefix.iter().map(|&b| u16::from(b)))
    }
}

fn starts_with_tag(mut units: impl Iterator<Item = u16>) -> bool {
    units.find(|u| !matches!(u, 0x20 | 0x09 | 0x0a | 0x0d)) == Some(u16::from(b'<'))
}

/// `starts with "..."` with the first bytes escaped, for error messages.
fn preview(prefix: &[u8]) -> String {
    if prefix.is_empty() {
        return "it is empty".to_string();
    }
    let shown = &prefix[..prefix.len().min(16)];
    format!("starts with \"{}\"", shown.escape_ascii())
}

/// Sniff `input` and call `f` once per XML document it holds. Returns how many
/// documents were handed to `f`.
pub fn for_each_document<E: From<UnpackError>>(
    input: &mut dyn Read,
    limits: &Limits,
    f: &mut dyn FnMut(Document<'_>) -> Result<(), E>,
) -> Result<usize, E> {
    let mut walker = Walker {
        limits,
        f,
        count: 0,
    };
    let mut input = MapErr::new(input, |e| UnpackError::Read(e.to_string()));
    walker.walk(&mut input, "", None, 0)?;
    Ok(walker.count)
}

struct Walker<'w, E> {
    limits: &'w Limits,
    f: &'w mut dyn FnMut(Document<'_>) -> Result<(), E>,
    count: usize,
}

impl<E: From<UnpackError>> Walker<'_, E> {
    /// Sniff one stream and walk into it. `place` is None for the caller's input.
    fn walk(
        &mut self,
        input: &mut dyn Read,
        name: &str,
        place: Option<&str>,
        depth: u32,
    ) -> Result<(), E> {
        let mut prefix = Vec::with_capacity(SNIFF_LEN);
        input
            .take(SNIFF_LEN as u64)
            .read_to_end(&mut prefix)
            .map_err(UnpackError::from)?;
        let container = sniff(&prefix);
        if container == Container::Unknown {
            let start = preview(&prefix);
            return Err(match place {
                None => UnpackError::NotReport { start },
                Some(place) => UnpackError::NotXml {
                    place: place.to_string(),
                    start,
                },
            }
            .into());
        }
        let reader = BufReader::new(prefix.as_slice().chain(input));
        if container == Container::Xml {
            let max = self.limits.max_xml_bytes;
            return self.emit(
                Capped::new(reader, max, UnpackError::XmlTooLarge { max }),
                name,
            );
        }
        if depth >= self.limits.max_depth {
            return Err(UnpackError::TooDeep {
                max: self.limits.max_depth,
            }
            .into());
        }
        let max = self.limits.max_compressed_bytes;
        let compressed = Capped::new(reader, max, UnpackError::CompressedTooLarge { max });
        match container {
            Container::Gzip => self.walk_decoded(GzMembers::new(compressed), "gzip", name, depth),
            Container::Zlib => self.walk_decoded(ZlibDecoder::new(compressed), "zlib", name, depth),
            _ => self.walk_zip(compressed, name, depth),
        }
    }

    fn emit(&mut self, mut reader: impl BufRead, name: &str) -> Result<(), E> {
        self.count += 1;
        (self.f)(Document {
            name,
            reader: &mut reader,
        })
    }

    /// Walk the output of a gzip or zlib decoder.
    fn walk_decoded(
        &mut self,
        decoder: impl Read,
        kind: &str,
        name: &str,
        depth: u32,
    ) -> Result<(), E> {
        let place = if name.is_empty() {
            kind.to_string()
        } else {
            format!("{kind} in zip member {name:?}")
        };
        let mut decoded = MapErr::new(decoder, stream_error(&place));
        self.walk(&mut decoded, name, Some(&place), depth + 1)
    }

    /// Read the (size-capped) archive into memory, then walk every member
    /// except directories and `__MACOSX/` entries.
    fn walk_zip(&mut self, mut input: impl Read, name: &str, depth: u32) -> Result<(), E> {
        let mut bytes = Vec::new();
        input.read_to_end(&mut bytes).map_err(UnpackError::from)?;
        let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(zip_error)?;
        if archive.len() > self.limits.max_zip_members {
            return Err(UnpackError::TooManyMembers {
                count: archive.len(),
                max: self.limits.max_zip_members,
            }
            .into());
        }
        let mut walked = 0;
        for index in 0..archive.len() {
            let Some(member) = report_member(&archive, index)? else {
                continue;
            };
            let path = if name.is_empty() {
                member
            } else {
                format!("{name}:{member}")
            };
            let place = format!("zip member {path:?}");
            let file = archive.by_index(index).map_err(zip_error)?;
            let mut file = MapErr::new(file, stream_error(&place));
            self.walk(&mut file, &path, Some(&place), depth + 1)?;
            walked += 1;
        }
        if walked == 0 {
            return Err(UnpackError::NoZipMember.into());
        }
        Ok(())
    }
}

/// The name of member `index`, or None for directories and macOS metadata.
fn report_member<R: Read + io::Seek>(
    archive: &ZipArchive<R>,
    index: usize,
) -> Result<Option<String>, UnpackError> {
    let entry = archive.by_index_data(index).map_err(zip_error)?;
    let name = entry
        .name()
        .map(Cow::into_owned)
        .unwrap_or_else(|_| String::from_utf8_lossy(entry.name_raw()).into_owned());
    let skip = entry.is_dir() || name.starts_with("__MACOSX/");
    Ok((!skip).then_some(name))
}

fn zip_error(e: zip::result::ZipError) -> UnpackError {
    UnpackError::Zip(e.to_string())
}

/// Names a decoder's own errors: running out of input is truncation, the rest corruption.
fn stream_error(place: &str) -> impl Fn(io::Error) -> UnpackError {
    let place = place.to_string();
    move |e| match e.kind() {
        io::ErrorKind::UnexpectedEof => UnpackError::Truncated {
            place: place.clone(),
        },
        _ => UnpackError::Corrupt {
            place: place.clone(),
            detail: e.to_string(),
        },
    }
}

fn is_ours(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<UnpackError>())
}

/// Turns foreign errors of `inner` into [`UnpackError`]s; ours pass through unchanged.
struct MapErr<R, F> {
    inner: R,
    map: F,
}

impl<R: Read, F: Fn(io::Error) -> UnpackError> MapErr<R, F> {
    fn new(inner: R, map: F) -> Self {
        MapErr { inner, map }
    }
}

impl<R: Read, F: Fn(io::Error) -> UnpackError> Read for MapErr<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if is_ours(&e) || e.kind() == io::ErrorKind::Interrupted {
                e
            } else {
                (self.map)(e).into_io()
            }
        })
    }
}

/// Passes at most `left` bytes, then fails with `over` if more are available.
struct Capped<R> {
    inner: R,
    left: u64,
    over: UnpackError,
}

impl<R: BufRead> Capped<R> {
    fn new(inner: R, max: u64, over: UnpackError) -> Self {
        Capped {
            inner,
            left: max,
            over,
        }
    }
}

impl<R: BufRead> BufRead for Capped<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let buf = self.inner.fill_buf()?;
        if buf.is_empty() {
            return Ok(buf);
        }
        if self.left == 0 {
            return Err(self.over.clone().into_io());
        }
        let n = usize::try_from(self.left).map_or(buf.len(), |left| left.min(buf.len()));
        Ok(&buf[..n])
    }

    fn consume(&mut self, amt: usize) {
        self.left = self.left.saturating_sub(amt as u64);
        self.inner.consume(amt);
    }
}

impl<R: BufRead> Read for Capped<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// Gzip members one after another. After a complete member, bytes that do not
/// parse as a gzip header end the stream quietly (trailing garbage).
struct GzMembers<R> {
    member: Option<GzDecoder<R>>,
    after_first: bool,
}

impl<R: BufRead> GzMembers<R> {
    fn new(input: R) -> Self {
        GzMembers {
            member: Some(GzDecoder::new(input)),
            after_first: false,
        }
    }

    /// Start the next member after a finished one, unless the input is at its end.
    fn next_member(&mut self) -> io::Result<()> {
        if let Some(finished) = self.member.take() {
            let mut input = finished.into_inner();
            if !input.fill_buf()?.is_empty() {
                self.member = Some(GzDecoder::new(input));
                self.after_first = true;
            }
        }
        Ok(())
    }
}

impl<R: BufRead> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while !buf.is_empty() {
            let Some(member) = &mut self.member else {
                break;
            };
            match member.read(buf) {
                Ok(0) => self.next_member()?,
                Err(e) if self.after_first && member.header().is_none() && !is_ours(&e) => {
                    self.member = None;
                }
                result => return result,
            }
        }
        Ok(0)
    }
}
