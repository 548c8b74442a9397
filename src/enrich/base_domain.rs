//! The registrable ("base") domain of a host name, by the Public Suffix List
//! compiled into the `psl` crate: `mail-sor-f41.google.com` → `google.com`,
//! `mta1.mail.example.co.uk` → `example.co.uk`. No file or network needed.

/// The base domain of `name`, or `None` when the name is itself a public
/// suffix (or not a name at all).
pub fn base_domain(name: &str) -> Option<String> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    psl::domain_str(&name).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::base_domain;

    #[test]
    fn registrable_domains() {
        assert_eq!(
            base_domain("mail-sor-f41.google.com.").as_deref(),
            Some("google.com")
        );
        assert_eq!(
            base_domain("MTA1.Mail.Example.CO.UK").as_deref(),
            Some("example.co.uk")
        );
        assert_eq!(
            base_domain("a8-30.smtp-out.amazonses.com").as_deref(),
            Some("amazonses.com")
        );
        // A private suffix of the list: each customer is its own base domain.
        assert_eq!(
            base_domain("host.customer.s3.amazonaws.com").as_deref(),
            Some("customer.s3.amazonaws.com")
        );
        assert_eq!(base_domain("co.uk"), None);
        assert_eq!(base_domain(""), None);
    }
}
