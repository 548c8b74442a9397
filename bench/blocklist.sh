#!/usr/bin/env bash
# How long `dmarcwatch blocklist` takes to check 1,000 addresses against 3
# zones served by a local dnsmasq (127.0.0.1, a free high port), at several
# concurrencies: first with the per-zone rate limit out of the way (what the
# resolver path can do), then with the default 20 queries/s per zone (what
# a real run costs). 10% of the addresses are listed on the first zone and
# 5% on the second (with TXT reasons), so listing, TXT and alert paths run.
#
#   bench/blocklist.sh                       # concurrency 1 4 16 64, RUNS=3
#   CONCURRENCY="16" RUNS=1 DEFAULT_RATE=0 bench/blocklist.sh
#
# Environment: N (addresses, 1000), CONCURRENCY ("1 4 16 64"), RUNS (3,
# median reported), DEFAULT_RATE (1: also time the default rate limit).
# Needs dnsmasq (Debian dnsmasq-base) and python3. Nothing leaves 127.0.0.1.
set -euo pipefail

N="${N:-1000}"
CONCURRENCY="${CONCURRENCY:-1 4 16 64}"
RUNS="${RUNS:-3}"
DEFAULT_RATE="${DEFAULT_RATE:-1}"

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
dnsmasq_bin="$(command -v dnsmasq || echo /usr/sbin/dnsmasq)"
[ -x "$dnsmasq_bin" ] || { echo "dnsmasq is missing: apt-get install dnsmasq-base" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/dmarcwatch-blbench.XXXXXX")"
chmod 777 "$work"
dnsmasq_pid=""
cleanup() {
    [ -n "$dnsmasq_pid" ] && kill "$dnsmasq_pid" 2>/dev/null && wait "$dnsmasq_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

echo "== build (cargo build --release)"
(cd "$root" && cargo build --release --quiet --bin dmarcwatch)
bin="${CARGO_TARGET_DIR:-$root/target}/release/dmarcwatch"

# Addresses from 198.18.0.0/15 (RFC 2544, for benchmarks), the zones, the listings.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
python3 - "$work" "$N" "$port" <<'EOF'
import ipaddress, sys
work, n, port = sys.argv[1], int(sys.argv[2]), sys.argv[3]
hosts = ipaddress.ip_network("198.18.0.0/15").hosts()
ips = [str(next(hosts)) for _ in range(n)]
zones = ["zen.spamhaus.org", "bl.example.net", "dnsbl.example.org"]
lines = [f"port={port}", "listen-address=127.0.0.1", "bind-interfaces", "no-resolv",
         "no-hosts", "no-poll", f"pid-file={work}/dnsmasq.pid", "cache-size=10000",
         "dns-forward-max=1000"]
lines += [f"local=/{z}/" for z in zones]
for i, ip in enumerate(ips):
    rev = ".".join(reversed(ip.split(".")))
    if i % 10 == 0:
        lines.append(f"host-record={rev}.{zones[0]},127.0.0.{2 + i % 3}")
        lines.append(f'txt-record={rev}.{zones[0]},"listed for the benchmark"')
    if i % 20 == 5:
        lines.append(f"host-record={rev}.{zones[1]},127.0.0.2")
open(f"{work}/dnsmasq.conf", "w").write("\n".join(lines) + "\n")
open(f"{work}/ips.toml", "w").write("ips = [" + ", ".join(f'"{ip}"' for ip in ips) + "]\n")
EOF
"$dnsmasq_bin" --keep-in-foreground --conf-file="$work/dnsmasq.conf" &
dnsmasq_pid=$!
for _ in $(seq 100); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
    sleep 0.05
done

config() { # concurrency rate
    cat <<EOF
[dns]
reverse = false
timeout = "2s"
attempts = 2

[blocklist]
zones = ["zen.spamhaus.org", "bl.example.net", "dnsbl.example.org"]
nameservers = ["127.0.0.1:$port"]
from_reports = false
concurrency = $1
rate_per_zone = $2
EOF
    cat "$work/ips.toml"
}

# One timed run on a fresh database; prints seconds and the summary line.
run_once() { # concurrency rate
    config "$1" "$2" >"$work/bench.toml"
    rm -f "$work"/bench.db*
    local start end
    start=$(date +%s.%N)
    "$bin" -q --config "$work/bench.toml" --db "$work/bench.db" blocklist >"$work/out.txt" || true
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.2f}')"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

queries=$((N * 3))
echo "== $N addresses x 3 zones = $queries A queries (+ TXT for $((N / 10 + N / 20)) listings), dnsmasq on 127.0.0.1:$port, $(nproc) cores"
printf "%-12s %-14s %10s %12s\n" concurrency rate_per_zone seconds queries/s
for c in $CONCURRENCY; do
    times=$(for _ in $(seq "$RUNS"); do run_once "$c" 100000; done | median)
    printf "%-12s %-14s %10s %12s\n" "$c" "unlimited" "$times" "$(python3 -c "print(round($queries / $times))")"
done
grep -m1 '^checked' "$work/out.txt" | sed 's/^/   last run: /'
listed=$(grep -c 'newly listed' "$work/out.txt" || true)
echo "   listings found (and alerts queued) in the last run: $listed"
if [ "$DEFAULT_RATE" = 1 ]; then
    t=$(run_once 16 20)
    printf "%-12s %-14s %10s %12s\n" 16 "20 (default)" "$t" "$(python3 -c "print(round($queries / $t))")"
fi
