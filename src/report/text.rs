//! Bytes → UTF-8 for the XML reader, streaming. Real reports arrive with a
//! byte-order mark, whitespace before the declaration, a windows-1252 (or
//! other) declared encoding, UTF-16, or plain invalid UTF-8 bytes. This reader
//! turns all of those into valid UTF-8 (invalid sequences become U+FFFD and
//! are flagged, so the parser can warn). UTF-8 — nearly every report — is
//! read in large chunks and checked once per chunk (one copy, no per-event
//! calls into the layers below); other encodings are transcoded by
//! encoding_rs through the same fixed buffer.

use encoding_rs::{Decoder, Encoding, UTF_8};
use std::io::{self, BufRead, Read};

const OUT_CAPACITY: usize = 128 * 1024;
/// How far into the input the BOM and XML declaration are looked for.
const SNIFF_BYTES: usize = 512;

enum Mode {
    /// Not started: the encoding is not known yet.
    Sniff,
    /// UTF-8: chunks are checked and served from `out`.
    Pass,
    /// Any other encoding: decoded into `out`.
    Decode(Decoder),
}

pub struct Utf8Reader<R> {
    inner: R,
    mode: Mode,
    encoding: &'static Encoding,
    /// Transcoded or repaired bytes waiting to be read: `out[pos..len]`.
    out: Vec<u8>,
    pos: usize,
    len: usize,
    /// The start of a character cut by the end of the last chunk.
    carry: Vec<u8>,
    eof: bool,
    replaced: bool,
}

impl<R: BufRead> Utf8Reader<R> {
    pub fn new(inner: R) -> Self {
        Utf8Reader {
            inner,
            mode: Mode::Sniff,
            encoding: UTF_8,
            out: Vec::new(),
            pos: 0,
            len: 0,
            carry: Vec::new(),
            eof: false,
            replaced: false,
        }
    }

    /// The encoding the input was read as (after sniffing).
    pub fn encoding(&self) -> &'static Encoding {
        self.encoding
    }

    /// True once any byte sequence was invalid in the input's encoding.
    pub fn had_replacements(&self) -> bool {
        self.replaced
    }

    /// Decide the encoding from a BOM or the declaration (peeked, not
    /// consumed) and skip the BOM and leading whitespace.
    fn start(&mut self) -> io::Result<()> {
        let head = self.inner.fill_buf()?;
        let head = &head[..head.len().min(SNIFF_BYTES)];
        let (encoding, mut skip) = match Encoding::for_bom(head) {
            Some((enc, len)) => (enc, len),
            None => (declared_encoding(head).unwrap_or(UTF_8), 0),
        };
        if encoding.is_ascii_compatible() {
            skip += head[skip..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
        }
        self.inner.consume(skip);
        self.encoding = encoding;
        self.mode = if encoding == UTF_8 {
            self.out = Vec::with_capacity(OUT_CAPACITY);
            Mode::Pass
        } else {
            self.out = vec![0; OUT_CAPACITY];
            Mode::Decode(encoding.new_decoder_without_bom_handling())
        };
        Ok(())
    }

    /// UTF-8: read the next chunk into `out`, keep a character cut at its
    /// end for the next one, and replace invalid sequences.
    fn next_chunk(&mut self) -> io::Result<()> {
        self.out.clear();
        self.out.append(&mut self.carry);
        let want = (OUT_CAPACITY - self.out.len()) as u64;
        let read = (&mut self.inner).take(want).read_to_end(&mut self.out)?;
        let at_end = (read as u64) < want;
        if !at_end {
            let tail = incomplete_tail_len(&self.out);
            self.carry
                .extend_from_slice(&self.out[self.out.len() - tail..]);
            self.out.truncate(self.out.len() - tail);
        }
        if std::str::from_utf8(&self.out).is_err() {
            self.replaced = true;
            let repaired = String::from_utf8_lossy(&self.out).into_owned();
            self.out = repaired.into_bytes();
        }
        self.pos = 0;
        self.len = self.out.len();
        self.eof = at_end;
        Ok(())
    }

    /// Other encodings: decode the next chunk into `out`.
    fn decode(&mut self) -> io::Result<()> {
        let Mode::Decode(decoder) = &mut self.mode else {
            return Ok(());
        };
        self.pos = 0;
        self.len = 0;
        while self.len == 0 && !self.eof {
            let src = self.inner.fill_buf()?;
            let last = src.is_empty();
            let (_, read, written, replaced) = decoder.decode_to_utf8(src, &mut self.out, last);
            self.replaced |= replaced;
            self.len = written;
            self.inner.consume(read);
            self.eof = last;
        }
        Ok(())
    }
}

/// The `encoding="..."` of an XML declaration at the start of `head`.
fn declared_encoding(head: &[u8]) -> Option<&'static Encoding> {
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &head[start..];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let decl_end = head.iter().position(|&b| b == b'>')?;
    let decl = &head[..decl_end];
    let at = find(decl, b"encoding")?;
    let rest = &decl[at + b"encoding".len()..];
    let quote_at = rest.iter().position(|&b| b == b'"' || b == b'\'')?;
    let quote = rest[quote_at];
    let value = &rest[quote_at + 1..];
    let value_end = value.iter().position(|&b| b == quote)?;
    let enc = Encoding::for_label(&value[..value_end])?;
    // A declaration read as ASCII cannot truthfully say UTF-16: ignore it.
    enc.is_ascii_compatible().then_some(enc)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl<R: BufRead> Read for Utf8Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Utf8Reader<R> {
    #[inline]
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if matches!(self.mode, Mode::Sniff) {
            self.start()?;
        }
        while self.pos >= self.len && !self.eof {
            if matches!(self.mode, Mode::Pass) {
                self.next_chunk()?;
            } else {
                self.decode()?;
            }
        }
        Ok(&self.out[self.pos..self.len])
    }

    #[inline]
    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.len);
    }
}

/// How many bytes at the end of `bytes` start a character that is not
/// complete (0 to 3).
fn incomplete_tail_len(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let b = bytes[bytes.len() - back];
        if b & 0xC0 == 0x80 {
            continue; // a continuation byte: look further back
        }
        let needed = match b {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return 0, // ASCII or not a lead byte: nothing to carry
        };
        return if needed > back { back } else { 0 };
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> (String, bool, &'static str) {
        let mut r = Utf8Reader::new(bytes);
        let mut s = String::new();
        r.read_to_string(&mut s).expect("valid utf-8 out");
        (s, r.had_replacements(), r.encoding().name())
    }

    #[test]
    fn strips_bom_and_leading_whitespace() {
        let (s, bad, enc) = read_all(b"\xEF\xBB\xBF \n<a/>");
        assert_eq!((s.as_str(), bad, enc), ("<a/>", false, "UTF-8"));
        let (s, _, _) = read_all(b"\n\t <?xml version=\"1.0\"?><a/>");
        assert_eq!(s, "<?xml version=\"1.0\"?><a/>");
    }

    #[test]
    fn windows_1252_declaration_is_transcoded() {
        let (s, bad, enc) =
            read_all(b"<?xml version='1.0' encoding='windows-1252'?><a>Caf\xe9 \x80</a>");
        assert!(s.ends_with("<a>Café €</a>"), "{s}");
        assert_eq!((bad, enc), (false, "windows-1252"));
    }

    #[test]
    fn invalid_utf8_is_replaced_and_flagged() {
        let (s, bad, _) = read_all(b"<a>x\xff\xfey</a>");
        assert_eq!(s, "<a>x\u{fffd}\u{fffd}y</a>");
        assert!(bad);
    }

    #[test]
    fn utf16_with_bom_is_transcoded() {
        let mut bytes = vec![0xFF, 0xFE];
        for c in "<a>é</a>".encode_utf16() {
            bytes.extend_from_slice(&c.to_le_bytes());
        }
        let (s, bad, enc) = read_all(&bytes);
        assert_eq!((s.as_str(), bad, enc), ("<a>é</a>", false, "UTF-16LE"));
    }

    #[test]
    fn characters_split_across_reads_are_kept() {
        // A reader that hands out one byte at a time splits every character.
        let text = "<a>Grüße – 日本</a>";
        let mut r = Utf8Reader::new(std::io::BufReader::with_capacity(1, text.as_bytes()));
        let mut s = String::new();
        r.read_to_string(&mut s).expect("valid utf-8 out");
        assert_eq!(s, text);
        assert!(!r.had_replacements());
        let mut r = Utf8Reader::new(std::io::BufReader::with_capacity(
            2,
            &b"<a>\xe6\x97x\xff</a>"[..],
        ));
        let mut s = String::new();
        r.read_to_string(&mut s).expect("valid utf-8 out");
        assert_eq!(s, "<a>\u{fffd}x\u{fffd}</a>");
        assert!(r.had_replacements());
    }

    #[test]
    fn large_input_streams_through_small_buffer() {
        let mut big = b"<r>".to_vec();
        big.extend(std::iter::repeat_n(b'x', 300_000));
        big.extend_from_slice(b"</r>");
        let (s, _, _) = read_all(&big);
        assert_eq!(s.len(), big.len());
    }
}
