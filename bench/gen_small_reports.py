#!/usr/bin/env python3
"""Synthetic DMARC aggregate reports for bench/ingest.sh.

Three modes, all deterministic for a given --seed:

  large  --out FILE --size-mb 100 [--ips 20000]
         one report of about SIZE MB of XML (IPv4 and IPv6 sources, 1-3 DKIM
         and 1-2 SPF results per record, IPS distinct source addresses).
  small  --dir DIR --count 1000 [--min-records 5 --max-records 50]
         COUNT small reports, one per file (.xml and .xml.gz mixed), from a
         dozen reporters about several domains over 60 days.
  corpus --dir DIR --records 1050000 [--days 45 --domains 3 --reporters 4]
         daily reports per (domain, reporter) over the last DAYS days (today
         included, so `--since 7d` has work), RECORDS records in all, sources
         drawn from per-domain pools (a few hundred regular senders carrying
         most mail, a long tail of occasional ones).

Each mode prints one line: files, reports, records, bytes (uncompressed XML).
Only the standard library is used.
"""

import argparse
import gzip
import os
import random
import sys
import time

DAY = 86400

REPORTERS = [
    ("google.com", "noreply-dmarc-support@google.com"),
    ("Yahoo", "dmarchelp@yahooinc.com"),
    ("Outlook.com", "dmarcreport@microsoft.com"),
    ("Mail.Ru", "dmarc_support@corp.mail.ru"),
    ("comcast.net", "dmarc_rua@comcast.net"),
    ("web.de", "noreply-dmarc@web.de"),
    ("GMX", "noreply-dmarc@gmx.net"),
    ("Fastmail Pty Ltd", "dmarc-reports@fastmail.com"),
    ("Zoho", "dmarc-noreply@zoho.com"),
    ("Proofpoint", "dmarc_rua@emaildefense.proofpoint.com"),
    ("Mimecast", "dmarc-reports@mimecast.org"),
    ("Cisco Email Security", "noreply@cisco.example"),
]

DOMAINS = ["example.com", "example.org", "example.net", "shop.example",
           "news.example.com", "corp.example"]

ESPS = ["sendgrid.net", "amazonses.com", "mailgun.org", "mcsv.net",
        "sparkpostmail.com", "outbound.protection.example"]


def ip_pool(rng, n, v6_share=0.2):
    """n distinct addresses, about v6_share of them IPv6."""
    seen = set()
    out = []
    while len(out) < n:
        if rng.random() < v6_share:
            ip = "2001:db8:%x:%x::%x" % (rng.randrange(1, 0xffff),
                                        rng.randrange(0, 0xffff),
                                        rng.randrange(1, 0xffff))
        else:
            ip = "%d.%d.%d.%d" % (rng.choice((23, 34, 40, 52, 54, 64, 66, 74,
                                              104, 149, 167, 185, 198, 203, 209)),
                                  rng.randrange(256), rng.randrange(256),
                                  rng.randrange(1, 255))
        if ip not in seen:
            seen.add(ip)
            out.append(ip)
    return out


def header(org, email, report_id, domain, begin, end, indent):
    nl = "\n" if indent else ""
    i1 = "  " if indent else ""
    i2 = "    " if indent else ""
    i3 = "      " if indent else ""
    return "".join([
        '<?xml version="1.0" encoding="UTF-8" ?>', nl,
        "<feedback>", nl,
        i1, "<version>1.0</version>", nl,
        i1, "<report_metadata>", nl,
        i2, "<org_name>", org, "</org_name>", nl,
        i2, "<email>", email, "</email>", nl,
        i2, "<report_id>", report_id, "</report_id>", nl,
        i2, "<date_range>", nl,
        i3, "<begin>", str(begin), "</begin>", nl,
        i3, "<end>", str(end), "</end>", nl,
        i2, "</date_range>", nl,
        i1, "</report_metadata>", nl,
        i1, "<policy_published>", nl,
        i2, "<domain>", domain, "</domain>", nl,
        i2, "<adkim>r</adkim>", nl,
        i2, "<aspf>r</aspf>", nl,
        i2, "<p>quarantine</p>", nl,
        i2, "<sp>none</sp>", nl,
        i2, "<pct>100</pct>", nl,
        i1, "</policy_published>", nl,
    ])


FOOTER = "</feedback>\n"


class RecordMaker:
    """Builds <record> elements; one instance per output style."""

    def __init__(self, rng, indent):
        self.rng = rng
        if indent:
            self.t = self._templates("\n", "  ")
        else:
            self.t = self._templates("", "")

    @staticmethod
    def _templates(nl, sp):
        i2, i3, i4, i5 = sp * 2, sp * 3, sp * 4, sp * 5
        return {
            "open": f"{sp}<record>{nl}{i2}<row>{nl}{i3}<source_ip>%s</source_ip>{nl}"
                    f"{i3}<count>%d</count>{nl}{i3}<policy_evaluated>{nl}"
                    f"{i4}<disposition>%s</disposition>{nl}{i4}<dkim>%s</dkim>{nl}"
                    f"{i4}<spf>%s</spf>{nl}",
            "reason": f"{i4}<reason>{nl}{i5}<type>%s</type>{nl}"
                      f"{i5}<comment>%s</comment>{nl}{i4}</reason>{nl}",
            "ids": f"{i3}</policy_evaluated>{nl}{i2}</row>{nl}{i2}<identifiers>{nl}"
                   f"{i3}<header_from>%s</header_from>{nl}",
            "env": f"{i3}<envelope_from>%s</envelope_from>{nl}",
            "auth": f"{i2}</identifiers>{nl}{i2}<auth_results>{nl}",
            "dkim": f"{i3}<dkim>{nl}{i4}<domain>%s</domain>{nl}"
                    f"{i4}<selector>%s</selector>{nl}{i4}<result>%s</result>{nl}{i3}</dkim>{nl}",
            "spf": f"{i3}<spf>{nl}{i4}<domain>%s</domain>{nl}{i4}<scope>%s</scope>{nl}"
                   f"{i4}<result>%s</result>{nl}{i3}</spf>{nl}",
            "close": f"{i2}</auth_results>{nl}{sp}</record>{nl}",
        }

    def record(self, ip, domain, count=None):
        r = self.rng.random
        t = self.t
        if count is None:
            x = r()
            count = 1 if x < 0.55 else (self.rng.randrange(2, 20) if x < 0.9
                                        else self.rng.randrange(20, 5000))
        legit = r() < 0.75
        dkim = "pass" if legit and r() < 0.95 else "fail"
        spf = "pass" if legit and r() < 0.9 else "fail"
        disp = "none" if dkim == "pass" or spf == "pass" else ("quarantine" if r() < 0.8 else "reject")
        parts = [t["open"] % (ip, count, disp, dkim, spf)]
        if r() < 0.05:
            parts.append(t["reason"] % ("forwarded", "arc=pass"))
        parts.append(t["ids"] % domain)
        esp = ESPS[int(r() * len(ESPS))]
        if r() < 0.5:
            parts.append(t["env"] % ("bounce." + (domain if legit else esp)))
        parts.append(t["auth"])
        ndkim = 1 if r() < 0.6 else (2 if r() < 0.8 else 3)
        for k in range(ndkim):
            d = domain if k == 0 and legit else esp
            res = dkim if k == 0 else ("pass" if r() < 0.7 else "fail")
            parts.append(t["dkim"] % (d, "s%d" % (1 + int(r() * 4)), res))
        nspf = 1 if r() < 0.7 else 2
        for k in range(nspf):
            d = ("bounce." + domain if legit else esp) if k == 0 else "mx." + esp
            scope = "mfrom" if k == 0 else "helo"
            res = spf if k == 0 else ("pass" if r() < 0.5 else "softfail")
            parts.append(t["spf"] % (d, scope, res))
        parts.append(t["close"])
        return "".join(parts)


def write_doc(path, text, compress):
    data = text.encode()
    if compress:
        with open(path, "wb") as f:
            f.write(gzip.compress(data, 6, mtime=0))
    else:
        with open(path, "wb") as f:
            f.write(data)
    return len(data)


def cmd_large(a):
    rng = random.Random(a.seed)
    pool = ip_pool(rng, a.ips)
    maker = RecordMaker(rng, indent=not a.compact)
    target = int(a.size_mb * 1024 * 1024)
    begin = a.begin if a.begin is not None else (int(time.time()) // DAY - 1) * DAY
    org, email = REPORTERS[0]
    head = header(org, email, "bench-large-%d" % a.seed, a.domain, begin, begin + DAY - 1,
                  not a.compact)
    written = 0
    records = 0
    with open(a.out, "w") as f:
        f.write(head)
        written += len(head)
        chunk = []
        chunk_len = 0
        # Every address at least once, then any address, until the size is reached.
        order = list(pool)
        rng.shuffle(order)
        i = 0
        while written + chunk_len < target:
            ip = order[i] if i < len(order) else pool[int(rng.random() * len(pool))]
            i += 1
            rec = maker.record(ip, a.domain)
            chunk.append(rec)
            chunk_len += len(rec)
            records += 1
            if chunk_len > 1 << 20:
                f.write("".join(chunk))
                written += chunk_len
                chunk, chunk_len = [], 0
        f.write("".join(chunk))
        written += chunk_len
        f.write(FOOTER)
        written += len(FOOTER)
    print("files=1 reports=1 records=%d bytes=%d ips=%d" % (records, written, min(i, len(pool))))


def cmd_small(a):
    rng = random.Random(a.seed)
    os.makedirs(a.dir, exist_ok=True)
    maker = RecordMaker(rng, indent=True)
    pools = {d: ip_pool(rng, 400) for d in DOMAINS}
    today = int(time.time()) // DAY * DAY
    records = total = 0
    for n in range(a.count):
        org, email = REPORTERS[n % len(REPORTERS)]
        domain = DOMAINS[(n // len(REPORTERS)) % len(DOMAINS)]
        begin = today - (1 + rng.randrange(a.days)) * DAY
        end = begin + DAY - 1
        rid = "%s-%d-%06d" % (org.split()[0].lower(), begin, n)
        k = rng.randint(a.min_records, a.max_records)
        pool = pools[domain]
        body = [header(org, email, rid, domain, begin, end, True)]
        for ip in rng.sample(pool, k):
            body.append(maker.record(ip, domain))
        body.append(FOOTER)
        gz = rng.random() < a.gzip_share
        name = "%s!%s!%d!%d!%06d.xml%s" % (org.replace(" ", "_"), domain, begin, end, n,
                                          ".gz" if gz else "")
        total += write_doc(os.path.join(a.dir, name), "".join(body), gz)
        records += k
    print("files=%d reports=%d records=%d bytes=%d" % (a.count, a.count, records, total))


def cmd_corpus(a):
    rng = random.Random(a.seed)
    os.makedirs(a.dir, exist_ok=True)
    maker = RecordMaker(rng, indent=not a.compact)
    domains = DOMAINS[:a.domains]
    reporters = REPORTERS[:a.reporters]
    regular = {d: ip_pool(rng, a.regular) for d in domains}
    tail = {d: ip_pool(rng, a.tail) for d in domains}
    today = int(time.time()) // DAY * DAY
    nreports = a.days * len(domains) * len(reporters)
    per = a.records / nreports
    records = total = files = 0
    for day in range(a.days):
        begin = today - day * DAY  # day 0 = today (UTC), so --since 7d has work
        for d in domains:
            for org, email in reporters:
                k = max(1, int(per * rng.uniform(0.5, 1.5)))
                if files == nreports - 1:
                    k = max(1, a.records - records)
                # Regular senders appear once each (a report groups by source);
                # the rest comes from the long tail, possibly repeated.
                nreg = min(len(regular[d]), k // 2)
                ips = rng.sample(regular[d], nreg)
                tl = tail[d]
                ips += [tl[int(rng.random() * len(tl))] for _ in range(k - nreg)]
                rid = "%s-%s-%d" % (org.split()[0].lower(), d, begin)
                body = [header(org, email, rid, d, begin, begin + DAY - 1, not a.compact)]
                body.extend(maker.record(ip, d) for ip in ips)
                body.append(FOOTER)
                name = "%s!%s!%d.xml" % (org.replace(" ", "_"), d, begin)
                total += write_doc(os.path.join(a.dir, name), "".join(body), False)
                records += k
                files += 1
    print("files=%d reports=%d records=%d bytes=%d" % (files, files, records, total))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=1)
    sub = p.add_subparsers(dest="mode", required=True)

    lg = sub.add_parser("large", help="one big report")
    lg.add_argument("--out", required=True)
    lg.add_argument("--size-mb", type=float, default=100)
    lg.add_argument("--ips", type=int, default=20000, help="distinct source addresses")
    lg.add_argument("--domain", default="example.com")
    lg.add_argument("--begin", type=int, help="epoch of the report's begin (default yesterday)")
    lg.add_argument("--compact", action="store_true", help="no indentation")

    sm = sub.add_parser("small", help="many small reports, one per file")
    sm.add_argument("--dir", required=True)
    sm.add_argument("--count", type=int, default=1000)
    sm.add_argument("--min-records", type=int, default=5)
    sm.add_argument("--max-records", type=int, default=50)
    sm.add_argument("--days", type=int, default=60)
    sm.add_argument("--gzip-share", type=float, default=0.5, help="share written as .xml.gz")

    co = sub.add_parser("corpus", help="daily reports over many days, for queries")
    co.add_argument("--dir", required=True)
    co.add_argument("--records", type=int, default=1_050_000)
    co.add_argument("--days", type=int, default=45)
    co.add_argument("--domains", type=int, default=3)
    co.add_argument("--reporters", type=int, default=4)
    co.add_argument("--regular", type=int, default=300, help="regular senders per domain")
    co.add_argument("--tail", type=int, default=40000, help="occasional senders per domain")
    co.add_argument("--compact", action="store_true", help="no indentation")

    a = p.parse_args()
    {"large": cmd_large, "small": cmd_small, "corpus": cmd_corpus}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
