-- dmarcwatch schema, migration 1. Tables are private; the v_* views are the
-- stable query API documented in docs/schema.md.

-- One row per report, identified by reporter + report id + domain + range.
CREATE TABLE reports (
    id                 INTEGER PRIMARY KEY,
    org_name           TEXT NOT NULL,
    report_id          TEXT NOT NULL,
    domain             TEXT NOT NULL,
    begin_ts           INTEGER NOT NULL,
    end_ts             INTEGER NOT NULL,
    format             TEXT NOT NULL,
    email              TEXT,
    extra_contact_info TEXT,
    generator          TEXT,
    errors             TEXT,              -- JSON array of <error> texts
    adkim TEXT, aspf TEXT, p TEXT, sp TEXT, np TEXT, pct INTEGER, fo TEXT,
    testing TEXT, discovery_method TEXT,
    records            INTEGER NOT NULL DEFAULT 0,
    messages           INTEGER NOT NULL DEFAULT 0,
    warnings           TEXT,              -- JSON array, NULL when none
    origin             TEXT NOT NULL,     -- file path, mbox#n, imap://...
    received_at        INTEGER NOT NULL,  -- epoch seconds when stored
    UNIQUE (org_name, report_id, domain, begin_ts, end_ts)
);
CREATE INDEX reports_domain_begin ON reports (domain, begin_ts);

-- One row per <record>.
CREATE TABLE records (
    id            INTEGER PRIMARY KEY,
    report        INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    source_ip     TEXT,
    count         INTEGER NOT NULL,
    disposition   TEXT,
    dkim          TEXT,                   -- policy_evaluated: aligned DKIM
    spf           TEXT,                   -- policy_evaluated: aligned SPF
    header_from   TEXT,
    envelope_from TEXT,
    envelope_to   TEXT,
    reasons       TEXT                    -- JSON array of {type, comment}
);
CREATE INDEX records_report ON records (report);

-- Every <dkim> and <spf> of auth_results, in order.
CREATE TABLE dkim_results (
    record       INTEGER NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    domain       TEXT,
    selector     TEXT,
    result       TEXT,
    human_result TEXT,
    PRIMARY KEY (record, seq)
) WITHOUT ROWID;
CREATE TABLE spf_results (
    record       INTEGER NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    domain       TEXT,
    scope        TEXT,
    result       TEXT,
    human_result TEXT,
    PRIMARY KEY (record, seq)
) WITHOUT ROWID;

-- Pre-aggregated totals, added up per report in memory and upserted once at
-- its end, so summaries never scan records. A report counts on the UTC day
-- its range begins.
-- Per domain, day, source and reporter: windows (`--since`, [detect] window).
CREATE TABLE source_daily (
    domain          TEXT NOT NULL,
    day             TEXT NOT NULL,        -- YYYY-MM-DD
    source_ip       TEXT NOT NULL,        -- '' when the report gave none
    org_name        TEXT NOT NULL,
    ip_key          BLOB,                 -- 16-byte address for range tests
    messages        INTEGER NOT NULL,
    dmarc_pass      INTEGER NOT NULL,
    spf_aligned     INTEGER NOT NULL,
    dkim_aligned    INTEGER NOT NULL,
    first_seen      INTEGER NOT NULL,     -- earliest report begin
    last_seen       INTEGER NOT NULL,     -- latest report end
    PRIMARY KEY (domain, day, source_ip, org_name)
) WITHOUT ROWID;

-- Per domain and source, all time: v_sources, first/last seen.
CREATE TABLE source_totals (
    domain          TEXT NOT NULL,
    source_ip       TEXT NOT NULL,
    ip_key          BLOB,
    messages        INTEGER NOT NULL,
    dmarc_pass      INTEGER NOT NULL,
    spf_aligned     INTEGER NOT NULL,
    dkim_aligned    INTEGER NOT NULL,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    PRIMARY KEY (domain, source_ip)
) WITHOUT ROWID;

-- Per domain, day and reporter: v_daily, summary totals.
CREATE TABLE domain_daily (
    domain          TEXT NOT NULL,
    day             TEXT NOT NULL,
    org_name        TEXT NOT NULL,
    reports         INTEGER NOT NULL,
    messages        INTEGER NOT NULL,
    dmarc_pass      INTEGER NOT NULL,
    spf_aligned     INTEGER NOT NULL,
    dkim_aligned    INTEGER NOT NULL,
    PRIMARY KEY (domain, day, org_name)
) WITHOUT ROWID;

-- Inputs that yielded no report (or lost some of them).
CREATE TABLE failures (
    id           INTEGER PRIMARY KEY,
    origin       TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    error        TEXT NOT NULL,
    partial      INTEGER NOT NULL DEFAULT 0, -- 1: other reports of it were stored
    digest       TEXT NOT NULL UNIQUE,       -- sha256 of the raw bytes (or origin)
    raw          BLOB,                       -- gzip of the input, when kept
    raw_bytes    INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 1,
    resolved_at  INTEGER                     -- set when reprocess read it
);

-- Approved (known, legitimate) sources per domain: an address range or a
-- service name. Config entries and `dmarcwatch approve` both land here.
CREATE TABLE approvals (
    domain   TEXT NOT NULL,
    source   TEXT NOT NULL,                  -- as given: IP, CIDR, service:Name
    ip_lo    BLOB,                           -- 16-byte range, NULL for services
    ip_hi    BLOB,
    service  TEXT,
    origin   TEXT NOT NULL,                  -- 'config' or 'command'
    added_at INTEGER NOT NULL,
    PRIMARY KEY (domain, source)
);

-- Enrichment, filled by the DNS stage: PTR name, base domain, service.
CREATE TABLE ip_info (
    ip          TEXT PRIMARY KEY,
    ptr         TEXT,
    base_domain TEXT,
    service     TEXT,
    checked_at  INTEGER
);

-- Blocklist state per address and zone.
CREATE TABLE blocklist_state (
    ip          TEXT NOT NULL,
    zone        TEXT NOT NULL,
    listed      INTEGER NOT NULL,
    return_code TEXT,
    reason      TEXT,
    checked_at  INTEGER NOT NULL,
    changed_at  INTEGER NOT NULL,
    PRIMARY KEY (ip, zone)
);

CREATE VIEW v_reports AS
SELECT r.id, r.org_name, r.report_id, r.domain,
       datetime(r.begin_ts, 'unixepoch') AS begin_utc,
       datetime(r.end_ts, 'unixepoch') AS end_utc,
       r.records, r.messages, r.format,
       r.email, r.p, r.sp, r.np, r.pct, r.adkim, r.aspf, r.testing,
       r.origin, datetime(r.received_at, 'unixepoch') AS received_utc,
       r.warnings
FROM reports r;

CREATE VIEW v_records AS
SELECT r.org_name, r.report_id, r.domain,
       datetime(r.begin_ts, 'unixepoch') AS begin_utc,
       datetime(r.end_ts, 'unixepoch') AS end_utc,
       c.id AS record_id, c.source_ip, c.count, c.disposition, c.dkim, c.spf,
       (c.dkim = 'pass' OR c.spf = 'pass') AS dmarc_pass,
       c.header_from, c.envelope_from, c.envelope_to, c.reasons,
       (SELECT group_concat(d.domain, ',') FROM dkim_results d
         WHERE d.record = c.id) AS dkim_domains,
       (SELECT group_concat(s.domain, ',') FROM spf_results s
         WHERE s.record = c.id) AS spf_domains,
       (SELECT group_concat(coalesce(d.domain, '?') || '=' || coalesce(d.result, '?'), ',')
          FROM dkim_results d WHERE d.record = c.id) AS dkim_results,
       (SELECT group_concat(coalesce(s.domain, '?') || '=' || coalesce(s.result, '?'), ',')
          FROM spf_results s WHERE s.record = c.id) AS spf_results,
       i.ptr, i.service
FROM records c
JOIN reports r ON r.id = c.report
LEFT JOIN ip_info i ON i.ip = c.source_ip;

CREATE VIEW v_sources AS
SELECT s.domain, s.source_ip, s.messages,
       s.dmarc_pass AS dmarc_pass_messages,
       datetime(s.first_seen, 'unixepoch') AS first_seen,
       datetime(s.last_seen, 'unixepoch') AS last_seen,
       i.ptr, i.service,
       EXISTS (SELECT 1 FROM approvals a
                WHERE a.domain = s.domain
                  AND ((a.ip_lo IS NOT NULL AND s.ip_key BETWEEN a.ip_lo AND a.ip_hi)
                       OR (a.service IS NOT NULL AND a.service = i.service))) AS approved,
       EXISTS (SELECT 1 FROM blocklist_state b
                WHERE b.ip = s.source_ip AND b.listed = 1) AS blocklisted
FROM source_totals s
LEFT JOIN ip_info i ON i.ip = s.source_ip;

CREATE VIEW v_daily AS
SELECT domain, day,
       sum(messages) AS messages,
       sum(dmarc_pass) AS dmarc_pass_messages,
       sum(spf_aligned) AS spf_aligned_messages,
       sum(dkim_aligned) AS dkim_aligned_messages
FROM domain_daily
GROUP BY domain, day;

CREATE VIEW v_blocklist AS
SELECT ip, zone, listed, return_code, reason,
       datetime(checked_at, 'unixepoch') AS checked_at,
       datetime(changed_at, 'unixepoch') AS changed_at
FROM blocklist_state;

CREATE VIEW v_failures AS
SELECT id, origin, datetime(received_at, 'unixepoch') AS received_at, error,
       partial, attempts, raw IS NOT NULL AS raw_kept,
       datetime(resolved_at, 'unixepoch') AS resolved_at
FROM failures;
