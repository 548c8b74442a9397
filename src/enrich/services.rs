//! Sending services known by their reverse names: `o1.ptr1234.sendgrid.net`
//! is SendGrid. A built-in list of the common senders, extended (and
//! overridden) by `[[service]]` entries of the config. Only forward-confirmed
//! names are matched: anyone can put any PTR on their own addresses.

use crate::config::ServiceConfig;

/// The built-in services and the suffixes of their outbound reverse names.
const BUILT_IN: &[(&str, &[&str])] = &[
    ("Google Workspace", &["google.com", "googlemail.com"]),
    (
        "Microsoft 365",
        &["outbound.protection.outlook.com", "protection.outlook.com"],
    ),
    ("Amazon SES", &["amazonses.com"]),
    ("SendGrid", &["sendgrid.net"]),
    ("Mailchimp", &["mcsv.net", "mcdlv.net", "rsgsv.net"]),
    ("Mandrill", &["mandrillapp.com"]),
    ("Salesforce Marketing Cloud", &["exacttarget.com"]),
    ("Salesforce", &["salesforce.com"]),
    (
        "Campaign Monitor",
        &["createsend.com", "cmail19.com", "cmail20.com"],
    ),
    ("Mailgun", &["mailgun.net", "mailgun.org"]),
    ("Postmark", &["mtasv.net"]),
    ("SparkPost", &["sparkpostmail.com"]),
    ("Zoho", &["zoho.com", "zoho.eu", "zoho.in", "zohomail.com"]),
    ("Yahoo", &["yahoo.com", "yahoo.net", "aol.com"]),
    ("Mailjet", &["mailjet.com"]),
    ("Brevo", &["sendinblue.com", "brevo.com"]),
    ("HubSpot", &["hubspotemail.net"]),
    ("Marketo", &["mktomail.com"]),
    ("Constant Contact", &["constantcontact.com"]),
    ("SocketLabs", &["email-od.com"]),
    ("Proofpoint", &["pphosted.com"]),
    ("Mimecast", &["mimecast.com"]),
    ("Fastmail", &["messagingengine.com"]),
];

/// Suffix → service name, user entries first.
pub struct ServiceMap {
    /// (suffix without dots at the ends, lower case; service; from the config)
    entries: Vec<(String, String, bool)>,
}

impl ServiceMap {
    pub fn new(configured: &[ServiceConfig]) -> ServiceMap {
        let user = configured.iter().flat_map(|s| {
            s.ptr_suffixes
                .iter()
                .map(move |suffix| (normal(suffix), s.name.trim().to_string(), true))
        });
        let built_in = BUILT_IN.iter().flat_map(|(name, suffixes)| {
            suffixes
                .iter()
                .map(move |suffix| (normal(suffix), name.to_string(), false))
        });
        ServiceMap {
            entries: user.chain(built_in).collect(),
        }
    }

    /// The service whose suffix ends `name` at a label boundary; a config
    /// entry wins over a built-in one, then the longest suffix.
    pub fn service_for(&self, name: &str) -> Option<&str> {
        let name = normal(name);
        self.entries
            .iter()
            .filter(|(suffix, _, _)| {
                name == *suffix
                    || (name.ends_with(suffix.as_str())
                        && name.as_bytes()[name.len() - suffix.len() - 1] == b'.')
            })
            .max_by_key(|(suffix, _, user)| (*user, suffix.len()))
            .map(|(_, service, _)| service.as_str())
    }
}

fn normal(name: &str) -> String {
    name.trim().trim_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> ServiceMap {
        ServiceMap::new(&[
            ServiceConfig {
                name: "Acme CRM".into(),
                ptr_suffixes: vec![".mta.acme.example.".into()],
            },
            ServiceConfig {
                name: "Our relay".into(),
                ptr_suffixes: vec!["relay.sendgrid.net".into()],
            },
        ])
    }

    #[test]
    fn built_in_senders() {
        let m = map();
        assert_eq!(
            m.service_for("mail-sor-f41.google.com"),
            Some("Google Workspace")
        );
        assert_eq!(
            m.service_for("mail-db8eur05on2041.outbound.protection.outlook.com."),
            Some("Microsoft 365")
        );
        assert_eq!(
            m.service_for("A8-30.SMTP-OUT.AMAZONSES.COM"),
            Some("Amazon SES")
        );
        assert_eq!(
            m.service_for("mail132-5.atl131.mcsv.net"),
            Some("Mailchimp")
        );
        assert_eq!(m.service_for("mail.example.org"), None);
    }

    #[test]
    fn suffixes_match_whole_labels_only() {
        let m = map();
        assert_eq!(m.service_for("evilsendgrid.net"), None);
        assert_eq!(m.service_for("sendgrid.net.evil.example"), None);
        assert_eq!(m.service_for("sendgrid.net"), Some("SendGrid"));
    }

    #[test]
    fn config_entries_extend_and_override() {
        let m = map();
        assert_eq!(m.service_for("out7.mta.acme.example"), Some("Acme CRM"));
        assert_eq!(m.service_for("o1.relay.sendgrid.net"), Some("Our relay"));
        assert_eq!(m.service_for("o1.ptr1234.sendgrid.net"), Some("SendGrid"));
    }
}
