#!/usr/bin/env bash
# Throughput and memory of `dmarcwatch fetch` against a real Dovecot: COUNT
# report e-mails (each a distinct gzipped aggregate report, base64 attached,
# as Google sends them) delivered to the INBOX as Maildir files, then one
# `fetch` over implicit TLS that stores every report and moves every message.
# Prints messages/s and peak RSS, then the RSS of an idle `run` (IDLE wait).
#
#   bench/fetch.sh                 # 10,000 messages
#   COUNT=2000 bench/fetch.sh
#
# Environment: COUNT (10000), TARGET_RATE (200 msg/s), TARGET_RSS_MB (100),
# TARGET_IDLE_RSS_MB (30), TMPDIR. Needs dovecot (dovecot-imapd), openssl,
# python3, GNU time; as root also setpriv (Dovecot then runs as nobody).
# The Dovecot config is the tests' template, tests/support/dovecot.conf.in.
set -euo pipefail

COUNT="${COUNT:-10000}"
TARGET_RATE="${TARGET_RATE:-200}"
TARGET_RSS_MB="${TARGET_RSS_MB:-100}"
TARGET_IDLE_RSS_MB="${TARGET_IDLE_RSS_MB:-30}"

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
gnu_time=/usr/bin/time
for tool in dovecot openssl python3; do
    command -v "$tool" >/dev/null || { echo "$tool is missing (see scripts/test.sh)" >&2; exit 2; }
done
"$gnu_time" -v true >/dev/null 2>&1 || { echo "GNU time is missing: apt-get install time" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/dmarcwatch-fetch-bench.XXXXXX")"
dovecot_pid=""
cleanup() {
    if [ -n "$dovecot_pid" ]; then
        kill -TERM -- "-$dovecot_pid" 2>/dev/null || true
        sleep 0.5
        kill -KILL -- "-$dovecot_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "== build (cargo build --release)"
(cd "$root" && cargo build --release --quiet --bin dmarcwatch)
bin="${CARGO_TARGET_DIR:-$root/target}/release/dmarcwatch"
echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(dovecot --version | cut -d' ' -f1)"

# Dovecot: a CA and a leaf certificate, the tests' config, two free ports.
srv="$work/dovecot"
mkdir -p "$srv"/{mail,home,run,state} "$work/client"
(
    cd "$srv"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
        -days 2 -subj "/CN=bench CA" -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -out leaf.csr \
        -subj /CN=localhost 2>/dev/null
    printf 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' >leaf.ext
    openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out cert.pem \
        -extfile leaf.ext 2>/dev/null
)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
plain_port=$(free_port)
tls_port=$(free_port)
if [ "$(id -u)" -eq 0 ]; then
    user=nobody
    group=$(getent group nogroup >/dev/null && echo nogroup || echo nobody)
else
    user=$(id -un)
    group=$(id -gn)
fi
sed -e "s|@DIR@|$srv|g" -e "s|@USER@|$user|g" -e "s|@GROUP@|$group|g" \
    -e "s|@PLAIN_PORT@|$plain_port|g" -e "s|@TLS_PORT@|$tls_port|g" -e "s|@EXTRA@||" \
    "$root/tests/support/dovecot.conf.in" >"$srv/dovecot.conf"

echo "== $COUNT report e-mails into the INBOX (Maildir)"
python3 - "$srv/mail/dmarc" "$COUNT" <<'EOF'
import base64, gzip, os, sys
maildir, count = sys.argv[1], int(sys.argv[2])
for sub in ("new", "cur", "tmp"):
    os.makedirs(os.path.join(maildir, sub), exist_ok=True)
total = 0
for n in range(count):
    begin = 1700000000 + (n % 365) * 86400
    records = "".join(
        f"<record><row><source_ip>198.51.100.{(n + i) % 250 + 1}</source_ip><count>{i + 1}</count>"
        "<policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf>"
        "</policy_evaluated></row><identifiers><header_from>example.com</header_from></identifiers>"
        "<auth_results><dkim><domain>example.com</domain><selector>s1</selector><result>pass</result>"
        "</dkim><spf><domain>example.com</domain><result>fail</result></spf></auth_results></record>"
        for i in range(n % 5 + 1))
    xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><feedback><report_metadata>"
           "<org_name>google.com</org_name><email>noreply-dmarc-support@google.com</email>"
           f"<report_id>bench-{n}</report_id><date_range><begin>{begin}</begin><end>{begin + 86399}</end>"
           "</date_range></report_metadata><policy_published><domain>example.com</domain><p>none</p>"
           f"</policy_published>{records}</feedback>")
    attachment = base64.encodebytes(gzip.compress(xml.encode(), 6)).decode().replace("\n", "\r\n")
    name = f"google.com!example.com!{begin}!{begin + 86399}.xml.gz"
    mail = ("From: noreply-dmarc-support@google.com\r\nTo: dmarc@example.com\r\n"
            f"Subject: Report domain: example.com Submitter: google.com Report-ID: bench-{n}\r\n"
            f"Message-ID: <bench-{n}@google.com>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: application/gzip; name=\"" + name + "\"\r\n"
            "Content-Disposition: attachment; filename=\"" + name + "\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + attachment)
    data = mail.encode()
    total += len(data)
    with open(os.path.join(maildir, "new", f"{1700000000 + n}.{n}.bench"), "wb") as f:
        f.write(data)
print(f"   {count} messages, {total / count:.0f} bytes each on average")
EOF
[ "$(id -u)" -eq 0 ] && chown -R "$user:$group" "$srv" && chmod 755 "$work" "$srv"

if [ "$(id -u)" -eq 0 ]; then
    setsid setpriv --reuid="$user" --regid="$group" --clear-groups dovecot -F -c "$srv/dovecot.conf" \
        >"$srv/dovecot.out" 2>&1 &
else
    setsid dovecot -F -c "$srv/dovecot.conf" >"$srv/dovecot.out" 2>&1 &
fi
dovecot_pid=$!
disown "$dovecot_pid"
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$tls_port") 2>/dev/null && break
    sleep 0.1
done

printf 'secret\n' >"$work/client/imap.password"
cat >"$work/client/bench.toml" <<EOF
[[mailbox]]
name = "bench"
host = "localhost"
port = $tls_port
tls = "implicit"
ca_file = "$srv/ca.pem"
username = "dmarc"
password_file = "$work/client/imap.password"
EOF

echo "== dmarcwatch fetch (implicit TLS, one transaction per message, moved after commit)"
start=$(date +%s%N)
"$gnu_time" -v -o "$work/time.txt" "$bin" -q --config "$work/client/bench.toml" \
    --db "$work/client/bench.db" fetch >"$work/fetch.out"
end=$(date +%s%N)
cat "$work/fetch.out"
grep -q "fetch bench: $COUNT messages, $COUNT reports new" "$work/fetch.out" || {
    echo "unexpected fetch result (want $COUNT messages, $COUNT reports new)" >&2
    exit 1
}
left=$(python3 - "$plain_port" <<'EOF'
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1])); m.login("dmarc", "secret")
print(m.status("INBOX", "(MESSAGES)")[1][0].split()[-1].strip(b")").decode(),
      m.status("DMARC/Processed", "(MESSAGES)")[1][0].split()[-1].strip(b")").decode())
EOF
)
echo "   INBOX / DMARC/Processed after the fetch: $left"
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "user %.1fs sys %.1fs", u, s}' "$work/time.txt")

echo "== dmarcwatch run, idle (IMAP IDLE on the empty INBOX)"
"$bin" --config "$work/client/bench.toml" --db "$work/client/bench.db" -v run 2>"$work/run.log" &
run_pid=$!
for _ in $(seq 100); do
    grep -q "waiting for new mail" "$work/run.log" && break
    sleep 0.1
done
sleep 1
idle_kb=$(awk '/VmRSS/ {print $2}' "/proc/$run_pid/status")
stop_start=$(date +%s%N)
kill -TERM "$run_pid"
wait "$run_pid"
stop_ms=$((($(date +%s%N) - stop_start) / 1000000))

awk -v n="$COUNT" -v ns="$((end - start))" -v rss="$rss_kb" -v idle="$idle_kb" -v cpu="$cpu" \
    -v stop="$stop_ms" -v tr="$TARGET_RATE" -v tm="$TARGET_RSS_MB" -v ti="$TARGET_IDLE_RSS_MB" 'BEGIN {
    s = ns / 1e9; rate = n / s; mb = rss / 1024; imb = idle / 1024
    printf "\n== summary\n"
    printf "fetch: %d messages in %.1f s = %.0f messages/s (%s), peak RSS %.1f MB   %s\n",
        n, s, rate, cpu, mb, (rate >= tr && mb < tm) ? "ok" : "MISS"
    printf "run idle: RSS %.1f MB, stopped %d ms after SIGTERM   %s\n", imb, stop, (imb < ti) ? "ok" : "MISS"
    printf "targets: >= %d messages/s, peak RSS < %d MB, idle RSS < %d MB\n", tr, tm, ti
}'
