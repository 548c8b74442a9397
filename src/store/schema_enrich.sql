-- dmarcwatch schema: enrichment. Reverse-name cache with expiry, and the
-- last error of each blocklist check (a failed check keeps the last known
-- state). Tables are private; v_ip_info and v_blocklist are the API.

-- ip_info.ptr is the forward-confirmed name (the name's A/AAAA gives the
-- address back); ptr_claimed is what the PTR said when it did not confirm.
ALTER TABLE ip_info ADD COLUMN ptr_claimed TEXT;
-- 'named' | 'unconfirmed' | 'none' (no PTR) | 'error' (lookup failed)
ALTER TABLE ip_info ADD COLUMN status TEXT;
-- Looked up again from then on (cache TTL, negative TTL or retry delay).
ALTER TABLE ip_info ADD COLUMN expires_at INTEGER;
ALTER TABLE ip_info ADD COLUMN error TEXT;
CREATE INDEX ip_info_expires ON ip_info (expires_at);

ALTER TABLE blocklist_state ADD COLUMN last_error TEXT;
ALTER TABLE blocklist_state ADD COLUMN error_at INTEGER;

CREATE VIEW v_ip_info AS
SELECT ip, ptr, ptr_claimed, base_domain, service, status,
       datetime(checked_at, 'unixepoch') AS checked_at,
       datetime(expires_at, 'unixepoch') AS expires_at,
       error
FROM ip_info;

DROP VIEW v_blocklist;
CREATE VIEW v_blocklist AS
SELECT ip, zone, listed, return_code, reason,
       datetime(checked_at, 'unixepoch') AS checked_at,
       datetime(changed_at, 'unixepoch') AS changed_at,
       last_error,
       datetime(error_at, 'unixepoch') AS error_at
FROM blocklist_state;
