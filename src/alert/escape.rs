//! Report values are untrusted: anyone can mail a report to a published
//! `rua=` address, with `<!channel>`, `<script>` or a CR LF in its org_name.
//! Detection passes every such value through [`clean`] (one bounded line,
//! no control or direction-override characters); each channel then escapes
//! for its syntax: [`html`], [`slack`], [`header`]. [`domain_label`] keeps
//! only domain characters, for the places (subject, Slack header) where not
//! even escaped report text belongs.

/// The longest value taken from a report into an alert.
pub const MAX_VALUE_CHARS: usize = 200;

/// One line, at most `max` characters: control characters, line and
/// paragraph separators and bidi overrides become spaces; runs of spaces
/// collapse; a cut value ends in `…`.
pub fn clean(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4));
    let mut chars = 0;
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() || is_unsafe(c) {
            pending_space = !out.is_empty();
            continue;
        }
        if chars + usize::from(pending_space) >= max {
            out.push('…');
            return out;
        }
        if pending_space {
            out.push(' ');
            chars += 1;
            pending_space = false;
        }
        out.push(c);
        chars += 1;
    }
    out
}

/// [`clean`] with the default bound.
pub fn value(text: &str) -> String {
    clean(text, MAX_VALUE_CHARS)
}

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// Text for HTML element content and attribute values.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Text for Slack mrkdwn: `&`, `<`, `>` escaped (so `<!channel>` and
/// `<http://x|y>` stay text), and the bare mass mentions `@channel`,
/// `@here`, `@everyone` broken with a word joiner so they never notify.
pub fn slack(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, c) in text.char_indices() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '@' => {
                out.push('@');
                let rest = text[i + 1..].to_ascii_lowercase();
                if ["channel", "here", "everyone"]
                    .iter()
                    .any(|m| rest.starts_with(m))
                {
                    out.push('\u{2060}');
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// A header value: one line (no CR/LF can start a new header), bounded.
pub fn header(text: &str) -> String {
    clean(text, 150)
}

/// Only the characters of a domain name (`a-z 0-9 . - _`), lower-cased and
/// bounded; "(no domain)" when nothing is left.
pub fn domain_label(domain: Option<&str>) -> String {
    let label: String = domain
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(100)
        .collect::<String>()
        .to_ascii_lowercase();
    if label.is_empty() {
        "(no domain)".to_string()
    } else {
        label
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_makes_one_bounded_line() {
        assert_eq!(clean("Evil\r\nBcc: x@y\u{202e}z", 100), "Evil Bcc: x@y z");
        assert_eq!(clean("  a \t b  ", 100), "a b");
        assert_eq!(clean("abcdef", 3), "abc…");
        assert_eq!(clean("ab cdef", 3), "ab…");
    }

    #[test]
    fn slack_mentions_and_brackets() {
        assert_eq!(
            slack("<!channel> & <b>"),
            "&lt;!channel&gt; &amp; &lt;b&gt;"
        );
        assert_eq!(
            slack("hi @here @Channel x@y"),
            "hi @\u{2060}here @\u{2060}Channel x@y"
        );
    }

    #[test]
    fn html_and_domain() {
        assert_eq!(html("<script>\"'&"), "&lt;script&gt;&quot;&#39;&amp;");
        assert_eq!(domain_label(Some("Ex<b>ample.com\r\n")), "exbample.com");
        assert_eq!(domain_label(None), "(no domain)");
    }
}
