//! E-mail → candidate report parts. Finds every part that may hold a report
//! (attachments, inline parts, single-part bodies, nested message/rfc822),
//! tolerating the broken headers real reporters send.
//!
//! mail-parser does the MIME work. Before it runs, the raw text is repaired:
//! junk before the first header is skipped, `ContentType:` typos and
//! colon-less `Content-*` lines are rewritten, unfolded parameter lines are
//! folded back. After it runs, text parts are checked by content (XML, MIME
//! headers inline in the body, bare base64), and when nothing report-like was
//! found the whole message is scanned for base64 blocks.

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{MessageParser, MessagePart, MimeHeaders, PartType};

/// Nesting limit for message/rfc822 parts and re-parsed bodies.
const MAX_DEPTH: usize = 8;
/// How many lines of junk may precede the first header line.
const MAX_JUNK_LINES: usize = 16;
/// Shortest base64 text worth decoding (a gzip header alone is 10 bytes).
const MIN_BASE64_LEN: usize = 16;
/// File-name endings that mark a part as a report whatever its type says.
const REPORT_SUFFIXES: [&str; 4] = [".xml", ".gz", ".zip", ".gzip"];

/// One MIME leaf that may hold a report, already transfer-decoded.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// What the pipeline needs from one message.
#[derive(Debug, Clone, Default)]
pub struct Message {
    /// Domain of the From address, lower-cased (fallback reporter name).
    pub from_domain: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub parts: Vec<Part>,
}

/// The input is not an e-mail at all.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("empty input, not an e-mail")]
    Empty,
    #[error("not an e-mail: no header line within the first {MAX_JUNK_LINES} lines")]
    NoHeader,
}

/// Parses one raw e-mail into its candidate report parts and sender facts.
/// A message without any report-like part is `Ok` with empty `parts`.
pub fn parse_message(raw: &[u8]) -> Result<Message, MailError> {
    let start = header_start(raw)?;
    let repaired = repair_headers(&raw[start..]);
    let parsed = MessageParser::default()
        .parse(&repaired)
        .ok_or(MailError::NoHeader)?;
    let mut parts = Vec::new();
    collect_parts(&parsed, MAX_DEPTH, &mut parts);
    if !parts.iter().any(|p| looks_like_report(&p.bytes)) {
        parts.extend(scan_base64_blocks(&repaired));
    }
    Ok(Message {
        from_domain: from_domain(&parsed),
        subject: parsed.subject().map(str::to_owned),
        message_id: parsed.message_id().map(str::to_owned),
        parts,
    })
}

// ---------------------------------------------------------------------------
// Raw text repair, before mail-parser runs.

/// Offset of the first header line, skipping blank lines, a BOM, an mbox
/// `From ` line or other junk.
fn header_start(raw: &[u8]) -> Result<usize, MailError> {
    if is_blank(raw) {
        return Err(MailError::Empty);
    }
    let mut offset = if raw.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    for line in lines(&raw[offset..]).take(MAX_JUNK_LINES) {
        if is_header_line(line) {
            return Ok(offset);
        }
        offset += line.len();
    }
    Err(MailError::NoHeader)
}

/// Rewrites header lines mail-parser would misread; other lines are copied.
fn repair_headers(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    let mut in_mime_header = false;
    for line in lines(data) {
        match repair_line(line, &mut in_mime_header) {
            Some(fixed) => out.extend_from_slice(&fixed),
            None => out.extend_from_slice(line),
        }
    }
    out
}

/// The repaired form of one line, or `None` to keep it. `in_mime_header`
/// tracks whether the previous line belongs to a `Content-*` header.
fn repair_line(line: &[u8], in_mime_header: &mut bool) -> Option<Vec<u8>> {
    if is_blank(line) {
        *in_mime_header = false;
        return None;
    }
    if line.starts_with(b" ") || line.starts_with(b"\t") {
        return None; // continuation line
    }
    let (name, rest) = split_field_name(line);
    if let Some(canonical) = mime_header_name(name) {
        let Some(value) = header_value(rest) else {
            *in_mime_header = false;
            return None;
        };
        *in_mime_header = true;
        let colon_ok = rest.trim_ascii_start().starts_with(b":");
        if colon_ok && name.eq_ignore_ascii_case(canonical.as_bytes()) {
            return None;
        }
        return Some([canonical.as_bytes(), b": ", value].concat());
    }
    if *in_mime_header && is_parameter_line(line) {
        return Some([b"\t", line].concat());
    }
    *in_mime_header = false;
    None
}

/// The value after a header name (with its line ending), with or without
/// the colon; `None` when the line is not a header (`Content-Type` glued to
/// other text, or nothing after the name).
fn header_value(rest: &[u8]) -> Option<&[u8]> {
    let trimmed = trim_blanks_start(rest);
    if let Some(value) = trimmed.strip_prefix(b":") {
        return Some(trim_blanks_start(value));
    }
    let colon_less = trimmed.len() < rest.len();
    (colon_less && !is_blank(trimmed)).then_some(trimmed)
}

/// Strips leading spaces and tabs, keeping the line ending.
fn trim_blanks_start(text: &[u8]) -> &[u8] {
    let blanks = text
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    &text[blanks..]
}

/// Canonical spelling of a MIME header name, accepting the typos seen in
/// reports (`ContentType`, `content_type`).
fn mime_header_name(name: &[u8]) -> Option<&'static str> {
    let folded: Vec<u8> = name
        .iter()
        .filter(|&&b| b != b'-' && b != b'_')
        .map(u8::to_ascii_lowercase)
        .collect();
    match folded.as_slice() {
        b"contenttype" => Some("Content-Type"),
        b"contentdisposition" => Some("Content-Disposition"),
        b"contenttransferencoding" => Some("Content-Transfer-Encoding"),
        _ => None,
    }
}

/// A MIME parameter that lost its folding whitespace: `name="x.xml.gz"`,
/// `; filename*1*=...` (but not a base64 line ending in `==`).
fn is_parameter_line(line: &[u8]) -> bool {
    let line = line.trim_ascii();
    let line = line.strip_prefix(b";").unwrap_or(line).trim_ascii_start();
    let name_len = line
        .iter()
        .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'*'))
        .count();
    name_len > 0
        && line.get(name_len) == Some(&b'=')
        && line
            .get(name_len + 1)
            .is_some_and(|&b| b != b'=' && !b.is_ascii_whitespace())
}

// ---------------------------------------------------------------------------
// Walking mail-parser's result.

fn collect_parts(msg: &mail_parser::Message<'_>, depth: usize, out: &mut Vec<Part>) {
    if depth == 0 {
        return;
    }
    for part in &msg.parts {
        match &part.body {
            PartType::Multipart(_) => {}
            PartType::Message(nested) => collect_parts(nested, depth - 1, out),
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) if is_rfc822(part) => {
                parse_nested(bytes, depth - 1, out)
            }
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                out.push(new_part(part, bytes.to_vec()))
            }
            PartType::Text(_) | PartType::Html(_) => {
                collect_text_part(&msg.raw_message, part, depth, out)
            }
        }
    }
}

/// A text part is kept only when it could be a report: XML by type, name or
/// content, MIME headers that ended up in the body, or a base64 body.
fn collect_text_part(raw: &[u8], part: &MessagePart<'_>, depth: usize, out: &mut Vec<Part>) {
    let body = raw
        .get(part.offset_body as usize..part.offset_end as usize)
        .unwrap_or_default();
    let bytes = transfer_decode(part, body);
    if has_report_type_or_name(part) || looks_like_report(&bytes) {
        out.push(new_part(part, bytes));
    } else if let Some(inner) = inline_mime(body) {
        parse_nested(&inner, depth - 1, out);
    } else if let Some(decoded) = decode_base64_body(body).filter(|d| looks_like_report(d)) {
        out.push(new_part(part, decoded));
    }
}

/// Parses an embedded message (or a body that is one) and collects its parts.
fn parse_nested(raw: &[u8], depth: usize, out: &mut Vec<Part>) {
    let Ok(start) = header_start(raw) else {
        return;
    };
    let repaired = repair_headers(&raw[start..]);
    if let Some(msg) = MessageParser::default().parse(&repaired) {
        collect_parts(&msg, depth, out);
    }
}

fn new_part(part: &MessagePart<'_>, bytes: Vec<u8>) -> Part {
    Part {
        name: part.attachment_name().map(|n| n.trim().to_owned()),
        content_type: part.content_type().map(|ct| {
            let subtype = ct.subtype().unwrap_or_default();
            format!("{}/{subtype}", ct.ctype()).to_ascii_lowercase()
        }),
        bytes,
    }
}

fn is_rfc822(part: &MessagePart<'_>) -> bool {
    part.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("message")
            && ct.subtype().is_some_and(|s| {
                s.eq_ignore_ascii_case("rfc822") || s.eq_ignore_ascii_case("global")
            })
    })
}

fn has_report_type_or_name(part: &MessagePart<'_>) -> bool {
    let xml_type = part
        .content_type()
        .and_then(|ct| ct.subtype())
        .is_some_and(|s| s.to_ascii_lowercase().contains("xml"));
    let report_name = part.attachment_name().is_some_and(|name| {
        let name = name.trim().to_ascii_lowercase();
        REPORT_SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
    });
    xml_type || report_name
}

/// Undoes the part's Content-Transfer-Encoding on its raw body bytes
/// (mail-parser's text parts are charset-decoded, which would corrupt binary
/// data and XML that declares its own encoding).
fn transfer_decode(part: &MessagePart<'_>, body: &[u8]) -> Vec<u8> {
    let encoding = part
        .content_transfer_encoding()
        .map(|e| e.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        Some("base64") => decode_base64_lenient(body),
        Some("quoted-printable") => quoted_printable_decode(body).unwrap_or_else(|| body.to_vec()),
        _ => body.to_vec(),
    }
}

/// A body that starts with MIME headers or a boundary line, as when a
/// sender's top-level Content-Type ended up below the header block. Returns
/// a message text mail-parser can read.
fn inline_mime(body: &[u8]) -> Option<Vec<u8>> {
    let body = skip_blank_lines(body);
    let mut body_lines = lines(body);
    let first = body_lines.next()?;
    if let Some(boundary) = boundary_of(first) {
        let second = body_lines.next()?;
        if !is_header_line(second) {
            return None;
        }
        let header = format!("Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n");
        return Some([header.as_bytes(), body].concat());
    }
    let has_content_type = lines(body)
        .take_while(|line| !is_blank(line))
        .any(|line| mime_header_name(split_field_name(line).0) == Some("Content-Type"));
    (is_header_line(first) && has_content_type).then(|| body.to_vec())
}

/// The boundary named by a `--boundary` line.
fn boundary_of(line: &[u8]) -> Option<&str> {
    let boundary = std::str::from_utf8(line.strip_prefix(b"--")?.trim_ascii()).ok()?;
    let valid = !boundary.is_empty()
        && boundary.len() <= 200
        && !boundary.contains(|c: char| c.is_whitespace() || c == '"');
    valid.then_some(boundary)
}

// ---------------------------------------------------------------------------
// Content checks and base64.

/// gzip, zip, zlib or XML: what the caller's sniffer will accept.
fn looks_like_report(bytes: &[u8]) -> bool {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = text.trim_ascii_start();
    bytes.starts_with(&[0x1f, 0x8b])
        || bytes.starts_with(b"PK\x03\x04")
        || is_zlib_header(bytes)
        || text.starts_with(b"<?xml")
        || text.starts_with(b"<feedback")
}

fn is_zlib_header(bytes: &[u8]) -> bool {
    match bytes {
        [0x78, flags, ..] => (0x7800 + u16::from(*flags)).is_multiple_of(31),
        _ => false,
    }
}

fn is_base64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
}

fn is_base64_line(line: &[u8]) -> bool {
    let line = line.trim_ascii();
    !line.is_empty() && line.iter().all(|&b| is_base64_char(b))
}

/// The decoded body when all of it is base64 text.
fn decode_base64_body(body: &[u8]) -> Option<Vec<u8>> {
    let text = body.trim_ascii();
    let is_base64 = text.len() >= MIN_BASE64_LEN && lines(text).all(is_base64_line);
    is_base64.then(|| decode_base64_lenient(text))
}

/// Decodes base64, ignoring any character outside the alphabet.
fn decode_base64_lenient(text: &[u8]) -> Vec<u8> {
    let clean: Vec<u8> = text
        .iter()
        .copied()
        .filter(|&b| is_base64_char(b))
        .collect();
    base64_decode(&clean).unwrap_or_default()
}

/// Last resort: every run of base64 lines that follows a blank line and
/// decodes to something report-like, as a nameless part.
fn scan_base64_blocks(data: &[u8]) -> Vec<Part> {
    let mut found = Vec::new();
    let mut block: Option<(usize, usize)> = None;
    let mut after_blank = true;
    let mut offset = 0;
    for line in lines(data) {
        let end = offset + line.len();
        block = match block {
            Some((start, _)) if is_base64_line(line) => Some((start, end)),
            None if after_blank && is_base64_line(line) => Some((offset, end)),
            Some((start, stop)) => {
                found.extend(decode_block(&data[start..stop]));
                None
            }
            None => None,
        };
        after_blank = is_blank(line);
        offset = end;
    }
    if let Some((start, stop)) = block {
        found.extend(decode_block(&data[start..stop]));
    }
    found
}

fn decode_block(block: &[u8]) -> Option<Part> {
    decode_base64_body(block)
        .filter(|bytes| looks_like_report(bytes))
        .map(|bytes| Part {
            name: None,
            content_type: None,
            bytes,
        })
}

// ---------------------------------------------------------------------------
// Small line helpers.

fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split_inclusive(|&b| b == b'\n')
}

fn is_blank(line: &[u8]) -> bool {
    line.trim_ascii().is_empty()
}

fn skip_blank_lines(data: &[u8]) -> &[u8] {
    let mut rest = data;
    while let Some(line) = lines(rest).next().filter(|line| is_blank(line)) {
        rest = &rest[line.len()..];
    }
    rest
}

/// Splits a line into a leading field-name token and the rest.
fn split_field_name(line: &[u8]) -> (&[u8], &[u8]) {
    let len = line
        .iter()
        .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        .count();
    line.split_at(len)
}

/// `Name: value` (spaces allowed before the colon, as mail-parser does),
/// but not a URL such as `https://...`.
fn is_header_line(line: &[u8]) -> bool {
    let (name, rest) = split_field_name(line);
    let rest = rest.trim_ascii_start();
    !name.is_empty() && rest.starts_with(b":") && !rest.starts_with(b"://")
}

fn from_domain(msg: &mail_parser::Message<'_>) -> Option<String> {
    let address = msg.from()?.first()?.address()?;
    let (_, domain) = address.rsplit_once('@')?;
    let domain = domain.trim_matches(|c: char| c == '>' || c.is_whitespace());
    (!domain.is_empty()).then(|| domain.to_ascii_lowercase())
}
