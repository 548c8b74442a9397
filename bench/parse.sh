#!/usr/bin/env bash
# Throughput and peak memory of `dmarcwatch parse` on synthetic aggregate
# reports: plain XML of each size in SIZES, and the first size gzipped, each
# parsed with the human output and with --json (output discarded).
#
#   bench/parse.sh                  # 100M and 1G, 3 runs each (median)
#   SIZES="20M" RUNS=1 bench/parse.sh
#
# Environment: SIZES (default "100M 1G"), RUNS (default 3), TMPDIR (where the
# generated inputs go, default /tmp; removed on exit), TARGET_MBS (150),
# TARGET_RSS_MB (64). Needs python3, gzip and GNU time (/usr/bin/time;
# Debian: apt-get install time). MB means 2^20 bytes throughout.
set -euo pipefail

SIZES="${SIZES:-100M 1G}"
RUNS="${RUNS:-3}"
TARGET_MBS="${TARGET_MBS:-150}"
TARGET_RSS_MB="${TARGET_RSS_MB:-64}"

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
gnu_time=/usr/bin/time
if ! "$gnu_time" -v true >/dev/null 2>&1; then
    echo "GNU time is missing: apt-get install time" >&2
    exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/dmarcwatch-parse-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "== build (cargo build --release)"
(cd "$root" && cargo build --release --quiet --bin dmarcwatch)
bin="${CARGO_TARGET_DIR:-$root/target}/release/dmarcwatch"

# max_xml_bytes raised so that a 1 GB document is read whole (default 500 MB).
config="$work/bench.toml"
printf '[limits]\nmax_xml_bytes = 4294967296\n' >"$config"

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "== $("$bin" --version 2>/dev/null || echo dmarcwatch), $(rustc --version)"
echo

# run LABEL FILE XML_BYTES RECORDS MODE: RUNS runs, median wall time, max RSS.
results=()
misses=0
run() {
    local label="$1" file="$2" xml_bytes="$3" records="$4" mode="$5"
    local args=(--config "$config" parse)
    [ "$mode" = json ] && args=(--config "$config" --json parse)
    local times=() cpus=() rss_max=0
    for _ in $(seq "$RUNS"); do
        local out="$work/out.txt" tlog="$work/time.txt"
        local start end
        start=$(date +%s%N)
        if [ "$mode" = json ]; then
            "$gnu_time" -v -o "$tlog" "$bin" "${args[@]}" "$file" >/dev/null
        else
            # The human output is one line per report: kept to check the count.
            "$gnu_time" -v -o "$tlog" "$bin" "${args[@]}" "$file" >"$out"
            if ! grep -q ": $records records," "$out"; then
                echo "unexpected output for $label (want $records records):" >&2
                head -c 2000 "$out" >&2
                exit 1
            fi
        fi
        end=$(date +%s%N)
        times+=("$(((end - start) / 1000))")
        local rss
        rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tlog")
        [ "$rss" -gt "$rss_max" ] && rss_max=$rss
        cpus+=("$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%d", (u + s) * 1e6}' "$tlog")")
    done
    local median_us cpu_us
    median_us=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    cpu_us=$(printf '%s\n' "${cpus[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    local line
    line=$(awk -v label="$label" -v mode="$mode" -v us="$median_us" -v b="$xml_bytes" \
        -v r="$records" -v rss="$rss_max" -v cpu="$cpu_us" -v tm="$TARGET_MBS" -v tr="$TARGET_RSS_MB" 'BEGIN {
            s = us / 1e6; mbs = b / 1048576 / s; rmb = rss / 1024
            verdict = (mbs >= tm && rmb < tr) ? "ok" : "MISS"
            c = cpu / 1e6
            printf "%-12s %-5s %7.2f s %7.1f MB/s %9.0f rec/s %6.1f MB RSS | cpu %6.2f s %7.1f MB/s  %s",
                label, mode, s, mbs, r / s, rmb, c, b / 1048576 / c, verdict
        }')
    echo "$line"
    results+=("$line")
    case "$line" in *MISS) misses=$((misses + 1)) ;; esac
}

first=""
for size in $SIZES; do
    xml="$work/report-$size.xml"
    echo "== generating $size report"
    meta=$(python3 "$here/gen_report.py" --size "$size" --out "$xml")
    bytes=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["bytes"])' "$meta")
    records=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["records"])' "$meta")
    echo "   $bytes bytes, $records records"
    run "xml $size" "$xml" "$bytes" "$records" text
    run "xml $size" "$xml" "$bytes" "$records" json
    if [ -z "$first" ]; then
        first="$size"
        echo "== gzip -6 of the $size report"
        gzip -6 -c "$xml" >"$xml.gz"
        gz_bytes=$(stat -c %s "$xml.gz")
        echo "   $gz_bytes bytes compressed"
        if [ "$gz_bytes" -ge $((25 * 1048576)) ]; then
            # Over the default max_compressed_bytes (25 MB): raise it.
            printf 'max_compressed_bytes = %d\n' $((gz_bytes + 1048576)) >>"$config"
        fi
        run "xml.gz $size" "$xml.gz" "$bytes" "$records" text
        run "xml.gz $size" "$xml.gz" "$bytes" "$records" json
        rm -f "$xml.gz"
    fi
    rm -f "$xml"
    echo
done

echo "== summary (median of $RUNS runs; MB/s of XML bytes per wall-clock second; cpu = user + sys"
echo "   and MB/s per CPU second, steadier on a busy machine; targets >= $TARGET_MBS MB/s, RSS < $TARGET_RSS_MB MB)"
printf '%s\n' "${results[@]}"
if [ "$misses" -gt 0 ]; then
    echo "$misses case(s) miss a target"
fi
