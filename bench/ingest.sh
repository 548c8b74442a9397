#!/usr/bin/env bash
# Ingest and query benchmark for dmarcwatch (see docs/benchmarks-ingest.md).
#
#   bench/ingest.sh
#
# Builds `cargo build --release`, generates synthetic reports in a temporary
# directory under /tmp (removed at the end) and measures:
#   1. ingest of one ~100 MB aggregate report into a fresh database
#      (wall time, records/s, MB/s, peak RSS, CPU time), default config and
#      keep_raw=false, and the parse-only time of the same file;
#   2. ingest of 1,000 small reports (.xml / .xml.gz files in a directory)
#      into a fresh database (wall time, reports/s, records/s, peak RSS);
#   3. summary, summary --since 7d and senders over a database of >= 1M
#      records (median of 5 runs, hyperfine when installed);
#   4. re-ingest of the same 1,000 small reports (all duplicates).
#
# Knobs (environment): RUNS (ingest runs, median; default 3), QUERY_RUNS
# (default 5), LARGE_MB (default 100), SMALL_COUNT (default 1000),
# CORPUS_RECORDS (default 1050000), KEEP_TMP=1 to keep the temporary
# directory, ONLINE=1 to let ingest do its DNS lookups, NO_INSTALL=1 to never
# call apt-get, SKIP_BUILD=1 to use the existing target/release/dmarcwatch.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
QUERY_RUNS=${QUERY_RUNS:-5}
LARGE_MB=${LARGE_MB:-100}
SMALL_COUNT=${SMALL_COUNT:-1000}
CORPUS_RECORDS=${CORPUS_RECORDS:-1050000}
GEN="$ROOT/bench/gen_small_reports.py"
BIN="$ROOT/target/release/dmarcwatch"

say() { printf '%s\n' "$*" >&2; }
die() { say "bench/ingest.sh: $*"; exit 1; }

# --- tools ------------------------------------------------------------------
apt_install() {
    [[ -z "${NO_INSTALL:-}" && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || return 1
    say "installing Debian package $1"
    { apt-get install -y -qq "$1" || { apt-get update -qq && apt-get install -y -qq "$1"; }; } \
        >/dev/null 2>&1
}
if [[ ! -x /usr/bin/time ]]; then
    apt_install time || true
    [[ -x /usr/bin/time ]] || die "/usr/bin/time (Debian package 'time') is required"
fi
command -v hyperfine >/dev/null || apt_install hyperfine || true
HYPERFINE=$(command -v hyperfine || true)
command -v python3 >/dev/null || die "python3 is required"

# --- build --------------------------------------------------------------------
if [[ -n "${SKIP_BUILD:-}" ]]; then
    say "SKIP_BUILD set: using the existing $BIN"
else
    say "building (cargo build --release)"
    (cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
fi
[[ -x "$BIN" ]] || die "no $BIN after the build"

# --- scratch ------------------------------------------------------------------
TMP=$(mktemp -d /tmp/dmarcwatch-bench.XXXXXX)
cleanup() { if [[ -n "${KEEP_TMP:-}" ]]; then say "kept $TMP"; else rm -rf "$TMP"; fi; }
trap cleanup EXIT
unset DMARCWATCH_CONFIG
# Storage only: no reverse-DNS pass after ingest (builds that have it read
# DMARCWATCH_OFFLINE; older ones ignore it). ONLINE=1 measures with it.
[[ -n "${ONLINE:-}" ]] || export DMARCWATCH_OFFLINE=1
CFG="$TMP/default.toml"            # built-in defaults (keep_raw = true)
: >"$CFG"
CFG_NORAW="$TMP/noraw.toml"
printf '[database]\nkeep_raw = false\n' >"$CFG_NORAW"
cd "$TMP"                          # no ./dmarcwatch.toml is picked up by accident

fresh_db() { rm -f "$1" "$1-wal" "$1-shm"; }

# median of the numbers on stdin
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
max() { sort -g | tail -1; }

# One ingest run under /usr/bin/time: sets WALL (s), RSS_KB, REPORTS_NEW,
# DUPLICATES, RECORDS from its closing line.
run_ingest() { # config db paths...
    local cfg=$1 db=$2; shift 2
    local rc=0
    /usr/bin/time -f '%e %M %U %S' -o "$TMP/time.out" \
        "$BIN" --config "$cfg" --db "$db" --quiet ingest "$@" >"$TMP/ingest.out" 2>"$TMP/ingest.err" || rc=$?
    if [[ $rc -ne 0 ]]; then
        say "ingest exited $rc:"; head -5 "$TMP/ingest.err" >&2; cat "$TMP/ingest.out" >&2
        die "ingest failed"
    fi
    read -r WALL RSS_KB USER_S SYS_S < <(tail -1 "$TMP/time.out")
    CPU=$(awk -v u="$USER_S" -v s="$SYS_S" 'BEGIN {printf "%.2f", u + s}')
    local line; line=$(grep '^ingest:' "$TMP/ingest.out")
    REPORTS_NEW=$(sed -E 's/.* ([0-9]+) reports new.*/\1/' <<<"$line")
    DUPLICATES=$(sed -E 's/.* ([0-9]+) duplicates.*/\1/' <<<"$line")
    RECORDS=$(sed -E 's/.* ([0-9]+) records$/\1/' <<<"$line")
}

# Ingest RUNS times into a fresh db (or the same one with reuse=1): sets
# MED_WALL, MAX_RSS_MB, and the counts of the last run.
bench_ingest() { # reuse config db paths...
    local reuse=$1 cfg=$2 db=$3; shift 3
    local walls=() rss=() cpus=()
    for ((i = 0; i < RUNS; i++)); do
        [[ $reuse == 1 ]] || fresh_db "$db"
        run_ingest "$cfg" "$db" "$@"
        walls+=("$WALL"); rss+=("$RSS_KB"); cpus+=("$CPU")
    done
    MED_WALL=$(printf '%s\n' "${walls[@]}" | median)
    MED_CPU=$(printf '%s\n' "${cpus[@]}" | median)
    MAX_RSS_MB=$(printf '%s\n' "${rss[@]}" | max | awk '{printf "%.1f", $1/1024}')
    ALL_WALLS="${walls[*]}"
}

div() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.0f", a/b; else print "inf"}'; }
div1() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.1f", a/b; else print "inf"}'; }
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN {ok = (op == ">=") ? v >= t : v < t; print ok ? "ok" : "MISSED"}'; }

row() { printf '%s\n' "$*"; }

say "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), $(uname -r); $(date -u '+%Y-%m-%d %H:%M UTC')"
say "dmarcwatch $("$BIN" --version | awk '{print $2}') at $(cd "$ROOT" && git describe --always --dirty 2>/dev/null || echo '?')"
echo

# --- 1. one large report --------------------------------------------------------
# bench/gen_report.py (shared with bench/parse.sh) when present, else ours.
say "generating a ~${LARGE_MB} MB report"
if [[ -f "$ROOT/bench/gen_report.py" ]] &&
    GEN_OUT=$(python3 "$ROOT/bench/gen_report.py" --size "${LARGE_MB}M" --out "$TMP/large.xml" 2>/dev/null); then
    GEN_OUT="bench/gen_report.py: $GEN_OUT"
else
    GEN_OUT=$(python3 "$GEN" large --out "$TMP/large.xml" --size-mb "$LARGE_MB" --ips 20000)
    GEN_OUT="bench/gen_small_reports.py large: $GEN_OUT"
fi
LARGE_BYTES=$(stat -c %s "$TMP/large.xml")
LARGE_MB_REAL=$(awk -v b="$LARGE_BYTES" 'BEGIN {printf "%.1f", b/1048576}')
echo "1. large report: $LARGE_MB_REAL MB XML, $GEN_OUT"
bench_ingest 0 "$CFG" "$TMP/large.db" "$TMP/large.xml"
L_WALL=$MED_WALL; L_RSS=$MAX_RSS_MB; L_REC=$RECORDS
L_RPS=$(div "$L_REC" "$L_WALL"); L_MBPS=$(div1 "$LARGE_MB_REAL" "$L_WALL")
row "   ingest (defaults):       wall ${L_WALL}s (runs: $ALL_WALLS)  ${L_RPS} records/s  ${L_MBPS} MB/s  peak RSS ${L_RSS} MB  cpu ${MED_CPU}s  [$L_REC records]"
bench_ingest 0 "$CFG_NORAW" "$TMP/large.db" "$TMP/large.xml"
N_WALL=$MED_WALL; N_RSS=$MAX_RSS_MB
row "   ingest (keep_raw=false): wall ${N_WALL}s (runs: $ALL_WALLS)  $(div "$RECORDS" "$N_WALL") records/s  $(div1 "$LARGE_MB_REAL" "$N_WALL") MB/s  peak RSS ${N_RSS} MB  cpu ${MED_CPU}s"
/usr/bin/time -f '%e %U %S' -o "$TMP/time.out" "$BIN" --config "$CFG" parse "$TMP/large.xml" >/dev/null
row "   parse only (no store):   wall $(tail -1 "$TMP/time.out" | awk '{printf "%ss  cpu %.2fs", $1, $2 + $3}')"
rm -f "$TMP/large.xml"
echo

# --- 2. 1,000 small reports ---------------------------------------------------------
say "generating $SMALL_COUNT small reports"
GEN_OUT=$(python3 "$GEN" small --dir "$TMP/small" --count "$SMALL_COUNT")
echo "2. small reports: $GEN_OUT ($(du -sm "$TMP/small" | cut -f1) MB on disk)"
bench_ingest 0 "$CFG" "$TMP/small.db" "$TMP/small"
S_WALL=$MED_WALL; S_RSS=$MAX_RSS_MB; S_REP=$REPORTS_NEW; S_REC=$RECORDS
[[ $S_REP == "$SMALL_COUNT" ]] || say "warning: $S_REP of $SMALL_COUNT reports stored"
row "   ingest: wall ${S_WALL}s (runs: $ALL_WALLS)  $(div "$S_REP" "$S_WALL") reports/s  $(div "$S_REC" "$S_WALL") records/s  peak RSS ${S_RSS} MB  cpu ${MED_CPU}s"
echo

# --- 4. the same reports again (all duplicates) ---------------------------------------
bench_ingest 1 "$CFG" "$TMP/small.db" "$TMP/small"
D_WALL=$MED_WALL
[[ $DUPLICATES == "$SMALL_COUNT" && $REPORTS_NEW == 0 ]] || say "warning: re-ingest stored $REPORTS_NEW new, $DUPLICATES duplicates"
echo "4. re-ingest of the same $SMALL_COUNT reports (duplicates: $DUPLICATES)"
row "   ingest: wall ${D_WALL}s (runs: $ALL_WALLS)  $(div "$DUPLICATES" "$D_WALL") reports/s  peak RSS ${MAX_RSS_MB} MB  cpu ${MED_CPU}s"
echo

# --- 3. queries over >= 1M records ------------------------------------------------------
say "generating a corpus of ~$CORPUS_RECORDS records"
GEN_OUT=$(python3 "$GEN" corpus --dir "$TMP/corpus" --records "$CORPUS_RECORDS")
echo "3. query corpus: $GEN_OUT"
RUNS_SAVED=$RUNS; RUNS=1
bench_ingest 0 "$CFG" "$TMP/corpus.db" "$TMP/corpus"
RUNS=$RUNS_SAVED
C_WALL=$MED_WALL; C_REC=$RECORDS
row "   ingest of the corpus ($REPORTS_NEW reports, a file and a transaction each): wall ${C_WALL}s  $(div "$C_REC" "$C_WALL") records/s  peak RSS ${MAX_RSS_MB} MB  cpu ${MED_CPU}s"
rm -rf "$TMP/corpus"
python3 - "$TMP/corpus.db" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n = lambda q: c.execute(q).fetchone()[0]
print("   db: %.0f MB; %d reports, %d records, %d dkim, %d spf, %d source_daily rows "
      "(%d domains, %d days, %d distinct sources), %d records in the last 7 days" % (
      n("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size") / 2**20,
      n("SELECT count(*) FROM reports"), n("SELECT count(*) FROM records"),
      n("SELECT count(*) FROM dkim_results"), n("SELECT count(*) FROM spf_results"),
      n("SELECT count(*) FROM source_daily"), n("SELECT count(DISTINCT domain) FROM source_daily"),
      n("SELECT count(DISTINCT day) FROM source_daily"),
      n("SELECT count(*) FROM (SELECT DISTINCT domain, source_ip FROM source_daily)"),
      n("SELECT coalesce(sum(records), 0) FROM reports WHERE begin_ts >= strftime('%s', 'now') - 7 * 86400")))
EOF
(( C_REC >= 1000000 )) || say "warning: only $C_REC records in the query database"

# Median wall time in ms of QUERY_RUNS runs of one command.
time_query() { # label args...
    local label=$1; shift
    local cmd=("$BIN" --config "$CFG" --db "$TMP/corpus.db" "$@")
    local ms
    if [[ -n "$HYPERFINE" ]]; then
        "$HYPERFINE" --runs "$QUERY_RUNS" --warmup 1 --style none --output null \
            --export-json "$TMP/hf.json" "$(printf '%q ' "${cmd[@]}")" >/dev/null 2>&1 \
            || die "hyperfine failed on: ${cmd[*]}"
        ms=$(python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$TMP/hf.json")
    else
        "${cmd[@]}" >/dev/null     # warm-up
        local t=()
        for ((i = 0; i < QUERY_RUNS; i++)); do
            local t0 t1; t0=$(date +%s%N); "${cmd[@]}" >/dev/null; t1=$(date +%s%N)
            t+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) / 1e6}')")
        done
        ms=$(printf '%s\n' "${t[@]}" | median)
    fi
    local lines; lines=$("${cmd[@]}" | wc -l)
    QUERY_MS=$ms
    row "   $(printf '%-22s' "$label") median ${ms} ms of $QUERY_RUNS runs  ($lines lines of output)"
}
echo "   timing with $([[ -n "$HYPERFINE" ]] && echo hyperfine || echo 'a date +%s%N loop')"
time_query "summary" summary;               Q_ALL=$QUERY_MS
time_query "summary --since 7d" summary --since 7d; Q_7D=$QUERY_MS
time_query "senders" senders;               Q_SEND=$QUERY_MS
echo

# --- targets ----------------------------------------------------------------------------------
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (wall times include waiting for a core; cpu = user + sys)"
echo "targets:"
echo "   large report >= 100000 records/s:  $L_RPS  $(verdict "$L_RPS" 100000 '>=')"
echo "   large report peak RSS < 64 MB:     $L_RSS MB  $(verdict "$L_RSS" 64 '<')  (keep_raw=false: $N_RSS MB)"
echo "   summary over 1M records < 200 ms:  $Q_ALL ms  $(verdict "$Q_ALL" 200 '<')"
echo "   summary --since 7d < 200 ms:       $Q_7D ms  $(verdict "$Q_7D" 200 '<')"
