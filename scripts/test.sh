#!/usr/bin/env bash
# Installs what the tests need and runs them all. `.ci/run` calls this; run it
# yourself on a fresh Debian machine (as root, or with sudo for apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the test suite uses (added as the tests need them).
need_packages=()
command -v python3 >/dev/null || need_packages+=(python3)
if [ ${#need_packages[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_packages[@]}"
fi

if [ ! -d ../shared/corpus ]; then
    echo "note: ../shared/corpus is absent: the corpus conformance tests will say SKIPPED"
fi

cargo test --all-targets --no-fail-fast
