#!/usr/bin/env bash
# Fill fuzz/corpus/extract (gitignored) with seed inputs: the project's
# fixtures and, when present, the shared real-world corpus. Files are named
# by content hash, as libFuzzer does, so re-running is idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
dest="$here/corpus/extract"
mkdir -p "$dest"
sources=("$root/fixtures")
shared="${DMARCWATCH_CORPUS:-$root/../shared/corpus}"
[ -d "$shared" ] && sources+=("$shared")
n=0
while IFS= read -r -d '' f; do
    case "$f" in
        *.py | *.md | *.tsv | *.jsonl) continue ;;
    esac
    sum="$(sha1sum "$f" | cut -d' ' -f1)"
    cp "$f" "$dest/$sum"
    n=$((n + 1))
done < <(find "${sources[@]}" -type f -print0)
echo "seeded $n files into $dest ($(find "$dest" -type f | wc -l) distinct)"
