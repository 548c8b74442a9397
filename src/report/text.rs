//! Bytes → UTF-8 for the XML reader, streaming. Real reports arrive with a
//! byte-order mark, whitespace before the declaration, a windows-1252 (or
//! other) declared encoding, UTF-16, or plain invalid UTF-8 bytes. This reader
//! turns all of those into valid UTF-8 (invalid sequences become U+FFFD and
//! are counted, so the parser can warn) with one copy and a fixed buffer.

use encoding_rs::{Decoder, Encoding, UTF_8};
use std::io::{self, BufRead, Read};

const OUT_CAPACITY: usize = 64 * 1024;
/// How far into the input the XML declaration is looked for.
const SNIFF_BYTES: usize = 512;

pub struct Utf8Reader<R> {
    inner: R,
    decoder: Option<Decoder>,
    encoding: &'static Encoding,
    /// Bytes read while sniffing, not yet decoded.
    head: Vec<u8>,
    head_pos: usize,
    out: Box<[u8]>,
    pos: usize,
    len: usize,
    eof: bool,
    replaced: bool,
}

impl<R: BufRead> Utf8Reader<R> {
    pub fn new(inner: R) -> Self {
        Utf8Reader {
            inner,
            decoder: None,
            encoding: UTF_8,
            head: Vec::new(),
            head_pos: 0,
            out: vec![0; OUT_CAPACITY].into_boxed_slice(),
            pos: 0,
            len: 0,
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

    /// Decide the encoding from a BOM or the declaration and skip leading
    /// whitespace; runs once, before the first read.
    fn start(&mut self) -> io::Result<Decoder> {
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        (&mut self.inner)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)?;
        let (encoding, mut skip) = match Encoding::for_bom(&head) {
            Some((enc, len)) => (enc, len),
            None => (declared_encoding(&head).unwrap_or(UTF_8), 0),
        };
        if encoding.is_ascii_compatible() {
            skip += head[skip..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
        }
        self.encoding = encoding;
        self.head = head;
        self.head_pos = skip;
        Ok(encoding.new_decoder_without_bom_handling())
    }

    fn refill(&mut self) -> io::Result<()> {
        let mut decoder = match self.decoder.take() {
            Some(d) => d,
            None => self.start()?,
        };
        self.pos = 0;
        self.len = 0;
        while self.len == 0 && !self.eof {
            let from_head = self.head_pos < self.head.len();
            let src: &[u8] = if from_head {
                &self.head[self.head_pos..]
            } else {
                self.inner.fill_buf()?
            };
            let last = src.is_empty();
            let (_, read, written, replaced) = decoder.decode_to_utf8(src, &mut self.out, last);
            self.replaced |= replaced;
            self.len = written;
            if from_head {
                self.head_pos += read;
                if self.head_pos == self.head.len() {
                    self.head = Vec::new();
                    self.head_pos = 0;
                }
            } else {
                self.inner.consume(read);
            }
            self.eof = last;
        }
        self.decoder = Some(decoder);
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
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.len {
            self.refill()?;
        }
        Ok(&self.out[self.pos..self.len])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.len);
    }
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
    fn large_input_streams_through_small_buffer() {
        let mut big = b"<r>".to_vec();
        big.extend(std::iter::repeat_n(b'x', 300_000));
        big.extend_from_slice(b"</r>");
        let (s, _, _) = read_all(&big);
        assert_eq!(s.len(), big.len());
    }
}
