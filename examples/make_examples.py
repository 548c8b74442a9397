#!/usr/bin/env python3
"""Writes examples/reports/: a week of reports for example.com from three
receivers, as they arrive (gzip, zip, an e-mail), used by the README's first
command and by tests/cli.rs. Deterministic: running it again gives the same files."""
import base64, gzip, io, os, zipfile

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reports")
DAY0 = 1764547200  # 2025-12-01 00:00 UTC


def record(ip, count, disp, dkim, spf, dkim_res, spf_res, reason=None, envelope_from=None):
    dk = "".join(
        f"<dkim><domain>{d}</domain><selector>{s}</selector><result>{r}</result></dkim>"
        for d, s, r in dkim_res)
    sp = "".join(f"<spf><domain>{d}</domain><scope>mfrom</scope><result>{r}</result></spf>"
                 for d, r in spf_res)
    rs = (f"<reason><type>{reason[0]}</type><comment>{reason[1]}</comment></reason>"
          if reason else "")
    ef = f"<envelope_from>{envelope_from}</envelope_from>" if envelope_from else ""
    return (f"<record><row><source_ip>{ip}</source_ip><count>{count}</count>"
            f"<policy_evaluated><disposition>{disp}</disposition><dkim>{dkim}</dkim>"
            f"<spf>{spf}</spf>{rs}</policy_evaluated></row>"
            f"<identifiers><header_from>example.com</header_from>{ef}</identifiers>"
            f"<auth_results>{dk}{sp}</auth_results></record>")


def report(org, email, rid, day, records):
    begin = DAY0 + day * 86400
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<feedback>'
            f"<report_metadata><org_name>{org}</org_name><email>{email}</email>"
            f"<report_id>{rid}</report_id><date_range><begin>{begin}</begin>"
            f"<end>{begin + 86399}</end></date_range></report_metadata>"
            "<policy_published><domain>example.com</domain><adkim>r</adkim><aspf>r</aspf>"
            "<p>quarantine</p><sp>quarantine</sp><pct>100</pct></policy_published>"
            + "".join(records) + "</feedback>\n").encode()


def google(day):
    return report("google.com", "noreply-dmarc-support@google.com", f"1700{day}", day, [
        record("209.85.220.41", 120, "none", "pass", "pass",
               [("example.com", "google", "pass")], [("example.com", "pass")]),
        record("167.89.12.34", 40, "none", "pass", "fail",
               [("example.com", "s1", "pass"), ("sendgrid.info", "smtpapi", "pass")],
               [("em123.sendgrid.net", "pass")], envelope_from="em123.sendgrid.net"),
        record("203.0.113.50", 5, "quarantine", "fail", "fail",
               [], [("example.com", "fail")]),
    ])


def microsoft(day):
    return report("Outlook.com", "dmarcreport@microsoft.com", f"ms-{day}", day, [
        record("2a01:111:f400:fe5b::1", 60, "none", "pass", "pass",
               [("example.com", "selector1", "pass")], [("example.com", "pass")]),
        record("198.51.100.23", 8, "none", "fail", "fail",
               [("lists.example.org", "s", "pass")], [("lists.example.org", "pass")],
               reason=("mailing_list", "")),
    ])


def yahoo(day):
    return report("Yahoo", "dmarchelp@yahooinc.com", f"y{day}", day, [
        record("209.85.220.41", 30, "none", "pass", "pass",
               [("example.com", "google", "pass")], [("example.com", "pass")]),
    ])


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(HERE, exist_ok=True)
    for day in range(3):
        write(f"google.com!example.com!{day}.xml.gz", gzip.compress(google(day), mtime=0))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(zipfile.ZipInfo(f"yahoo!example.com!{day}.xml", (2025, 12, 1, 0, 0, 0)),
                       yahoo(day))
        write(f"yahoo.com!example.com!{day}.zip", buf.getvalue())
        gz = base64.encodebytes(gzip.compress(microsoft(day), mtime=0)).decode()
        write(f"outlook-{day}.eml", (
            "From: DMARC Aggregate Report <dmarcreport@microsoft.com>\r\n"
            "To: dmarc@example.com\r\n"
            f"Subject: Report Domain: example.com Submitter: protection.outlook.com Report-ID: ms-{day}\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
            "--b1\r\nContent-Type: text/plain\r\n\r\nThis is a DMARC aggregate report.\r\n"
            "--b1\r\nContent-Type: application/gzip\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            f'Content-Disposition: attachment; filename="protection.outlook.com!example.com!{day}.xml.gz"\r\n\r\n'
            + gz.replace("\n", "\r\n") + "--b1--\r\n").encode())


main()
