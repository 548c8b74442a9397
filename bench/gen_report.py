#!/usr/bin/env python3
"""Write one synthetic DMARC aggregate report (RFC 7489 XML) of about SIZE
bytes, for the parse benchmark.

Records carry IPv4 and IPv6 sources, 1-3 DKIM results and 1-2 SPF results
each, realistic sending domains and a mix of pass/fail outcomes. Output is
deterministic for a given --seed. Prints a JSON line with the byte and
record counts to standard output.

    bench/gen_report.py --size 100M --out /tmp/report.xml
"""

import argparse
import json
import random
import sys

POLICY_DOMAIN = "example.com"
HEADER_FROM = ["example.com", "mail.example.com", "news.example.com", "example.org"]
SENDERS = [
    ("google.com", "20230601"),
    ("amazonses.com", "ug7nbtf4gccmlpwj322ax3p6ow6yfsug"),
    ("sendgrid.net", "smtpapi"),
    ("mcsv.net", "k1"),
    ("mailchimpapp.net", "k2"),
    ("outlook.com", "selector1"),
    ("protection.outlook.com", "selector2"),
    ("zendesk.com", "zendesk1"),
    ("salesforce.com", "sf2022"),
    ("mailgun.org", "mx"),
    ("sparkpostmail.com", "scph0322"),
    ("hubspotemail.net", "hs1"),
    ("example.com", "s2024"),
    ("mail.example.com", "default"),
    ("bounces.example.net", "bnc"),
]
SPF_DOMAINS = [
    "example.com",
    "bounce.example.com",
    "amazonses.com",
    "sendgrid.net",
    "mcsv.net",
    "outlook.com",
    "mailgun.org",
    "spf.protection.outlook.com",
    "em1234.example.com",
]
DISPOSITIONS = ["none"] * 8 + ["quarantine", "reject"]
RESULTS = ["pass"] * 6 + ["fail", "neutral", "temperror", "none"]
SPF_RESULTS = ["pass"] * 6 + ["fail", "softfail", "neutral", "none"]
REASONS = ["forwarded", "local_policy", "mailing_list", "trusted_forwarder"]


def parse_size(text):
    text = text.strip().upper()
    mult = 1
    for suffix, m in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if text.endswith(suffix):
            text, mult = text[:-1], m
            break
    return int(float(text) * mult)


def source_ip(rng):
    if rng.random() < 0.3:
        groups = [0x2001, 0x0DB8, rng.randrange(1 << 16), rng.randrange(1 << 16)]
        groups += [rng.randrange(1 << 16) for _ in range(4)]
        return ":".join(f"{g:x}" for g in groups)
    return ".".join(str(rng.randrange(1, 255)) for _ in range(4))


def record(rng):
    """One <record> as a template with a {count} slot."""
    dkim_eval = rng.choice(RESULTS[:7])
    spf_eval = rng.choice(SPF_RESULTS[:7])
    disposition = "none" if "pass" in (dkim_eval, spf_eval) else rng.choice(DISPOSITIONS)
    header_from = rng.choice(HEADER_FROM)
    parts = [
        "  <record>\n",
        "    <row>\n",
        f"      <source_ip>{source_ip(rng)}</source_ip>\n",
        "      <count>{count}</count>\n",
        "      <policy_evaluated>\n",
        f"        <disposition>{disposition}</disposition>\n",
        f"        <dkim>{dkim_eval}</dkim>\n",
        f"        <spf>{spf_eval}</spf>\n",
    ]
    if rng.random() < 0.05:
        parts.append(
            f"        <reason><type>{rng.choice(REASONS)}</type>"
            "<comment>arc=pass</comment></reason>\n"
        )
    parts += [
        "      </policy_evaluated>\n",
        "    </row>\n",
        "    <identifiers>\n",
        f"      <envelope_to>{rng.choice(['gmail.com', 'yahoo.com', 'outlook.com', 'web.de'])}</envelope_to>\n",
        f"      <envelope_from>{rng.choice(SPF_DOMAINS)}</envelope_from>\n",
        f"      <header_from>{header_from}</header_from>\n",
        "    </identifiers>\n",
        "    <auth_results>\n",
    ]
    for _ in range(rng.randint(1, 3)):
        domain, selector = rng.choice(SENDERS)
        parts += [
            "      <dkim>\n",
            f"        <domain>{domain}</domain>\n",
            f"        <selector>{selector}</selector>\n",
            f"        <result>{rng.choice(RESULTS)}</result>\n",
            "      </dkim>\n",
        ]
    for i in range(rng.randint(1, 2)):
        parts += [
            "      <spf>\n",
            f"        <domain>{rng.choice(SPF_DOMAINS)}</domain>\n",
            f"        <scope>{'mfrom' if i == 0 else 'helo'}</scope>\n",
            f"        <result>{rng.choice(SPF_RESULTS)}</result>\n",
            "      </spf>\n",
        ]
    parts += ["    </auth_results>\n", "  </record>\n"]
    return "".join(parts)


HEADER = """<?xml version="1.0" encoding="UTF-8" ?>
<feedback>
  <version>1.0</version>
  <report_metadata>
    <org_name>bench.example.net</org_name>
    <email>noreply-dmarc-support@bench.example.net</email>
    <extra_contact_info>https://bench.example.net/dmarc</extra_contact_info>
    <report_id>bench-{seed}-{size}</report_id>
    <date_range>
      <begin>1767225600</begin>
      <end>1767311999</end>
    </date_range>
  </report_metadata>
  <policy_published>
    <domain>{domain}</domain>
    <adkim>r</adkim>
    <aspf>r</aspf>
    <p>quarantine</p>
    <sp>none</sp>
    <pct>100</pct>
    <fo>1</fo>
  </policy_published>
"""
FOOTER = "</feedback>\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", required=True, help="target size, e.g. 100M, 1G")
    ap.add_argument("--out", required=True, help="output file")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--pool", type=int, default=50000, help="distinct records to cycle through")
    args = ap.parse_args()
    size = parse_size(args.size)
    rng = random.Random(args.seed)
    pool = [record(rng) for _ in range(args.pool)]
    counts = [str(rng.choice([1, 1, 1, 2, 3, 5, 12, 40, 250])) for _ in range(997)]

    head = HEADER.format(seed=args.seed, size=size, domain=POLICY_DOMAIN)
    written = len(head) + len(FOOTER)
    records = 0
    with open(args.out, "w", encoding="ascii", newline="\n") as out:
        out.write(head)
        chunk = []
        chunk_len = 0
        i = 0
        while written < size:
            text = pool[i % len(pool)].replace("{count}", counts[i % len(counts)], 1)
            chunk.append(text)
            chunk_len += len(text)
            written += len(text)
            records += 1
            i += 1
            if chunk_len >= 1 << 20:
                out.write("".join(chunk))
                chunk, chunk_len = [], 0
        out.write("".join(chunk))
        out.write(FOOTER)
    json.dump({"path": args.out, "bytes": written, "records": records}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
