-- dmarcwatch schema: the alert outbox and what detection remembers.
-- Every alert is stored (with its stable id) before any channel sees it;
-- delivery state per channel lives beside it, so a crash or a channel that
-- is down loses nothing. Tables are private; v_alerts is the API.

-- One row per alert. `id` is the X-Dmarcwatch-Event-Id every retry repeats.
CREATE TABLE alerts (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    severity    TEXT NOT NULL,              -- info | warning | critical
    domain      TEXT,                       -- NULL: no domain known
    title       TEXT NOT NULL,
    summary     TEXT NOT NULL,
    evidence    TEXT NOT NULL,              -- JSON object
    fix_steps   TEXT NOT NULL,              -- JSON array of strings
    key         TEXT NOT NULL,              -- cool-down key
    created_at  INTEGER NOT NULL,
    routed_at   INTEGER                     -- when deliveries were created
);
CREATE INDEX alerts_created ON alerts (created_at);
CREATE INDEX alerts_unrouted ON alerts (routed_at) WHERE routed_at IS NULL;

-- The cool-down keys an alert speaks for: its own, and for a grouped
-- alert ("and 12 more new senders") those of its members.
CREATE TABLE alert_keys (
    key           TEXT NOT NULL,
    alert         TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    severity_rank INTEGER NOT NULL,         -- 0 info, 1 warning, 2 critical
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (key, alert)
) WITHOUT ROWID;

-- One row per alert and channel it is routed to.
CREATE TABLE alert_deliveries (
    alert           TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,          -- [[alert]] name: email, webhook-2, stdout ...
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,       -- also a lease while a send is in flight
    delivered_at    INTEGER,
    failed_at       INTEGER,                -- gave up (see last_error)
    last_error      TEXT,
    PRIMARY KEY (alert, channel)
) WITHOUT ROWID;
CREATE INDEX alert_deliveries_due ON alert_deliveries (channel, next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;

-- Per channel: consecutive transient failures and when to try it again
-- (exponential backoff for the channel as a whole, not per copy).
CREATE TABLE alert_channels (
    name            TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
);

-- Sources detection has already seen per domain, with the group they were
-- in: a source group is new once, and a new address of a known group (a
-- provider's IP churn) is not news.
CREATE TABLE detect_known_sources (
    domain    TEXT NOT NULL,
    source_ip TEXT NOT NULL,
    group_key TEXT NOT NULL,
    known_at  INTEGER NOT NULL,
    PRIMARY KEY (domain, source_ip)
) WITHOUT ROWID;
CREATE INDEX detect_known_group ON detect_known_sources (domain, group_key);

CREATE VIEW v_alerts AS
SELECT a.id, a.kind, a.severity, a.domain, a.title,
       datetime(a.created_at, 'unixepoch') AS created_at,
       datetime(d.delivered_at, 'unixepoch') AS delivered_at,
       d.channel,
       coalesce(d.attempts, 0) AS attempts,
       CASE
         WHEN a.routed_at IS NULL THEN 'queued'
         WHEN d.channel IS NULL THEN 'no channel'
         WHEN d.delivered_at IS NOT NULL THEN 'delivered'
         WHEN d.failed_at IS NOT NULL THEN 'failed'
         ELSE 'pending'
       END AS state,
       d.last_error,
       datetime(CASE WHEN d.delivered_at IS NULL AND d.failed_at IS NULL
                     THEN d.next_attempt_at END, 'unixepoch') AS next_attempt_at,
       a.summary, a.evidence, a.fix_steps
FROM alerts a
LEFT JOIN alert_deliveries d ON d.alert = a.id;
