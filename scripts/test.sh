#!/usr/bin/env bash
# Installs what the tests need and runs them all. `.ci/run` calls this; run it
# yourself on a fresh Debian machine (as root, or with sudo for apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the test suite uses (added as the tests need them).
need_packages=()
command -v python3 >/dev/null || need_packages+=(python3)
# DNS server for tests/dns.rs and tests/blocklist.rs (binary only, no service).
[ -x /usr/sbin/dnsmasq ] || command -v dnsmasq >/dev/null || need_packages+=(dnsmasq-base)
# IMAP server, certificates and the unit check for tests/imap.rs and tests/daemon.rs.
[ -x /usr/sbin/dovecot ] || command -v dovecot >/dev/null || need_packages+=(dovecot-imapd)
command -v openssl >/dev/null || need_packages+=(openssl)
command -v setpriv >/dev/null || need_packages+=(util-linux)
command -v systemd-analyze >/dev/null || need_packages+=(systemd)
# SMTP server for tests/alerts.rs (aiosmtpd): Debian's package, else PyPI below.
python3 -c 'import aiosmtpd' 2>/dev/null || need_packages+=(python3-aiosmtpd)
if [ ${#need_packages[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_packages[@]}"
fi
# A python3 outside Debian's (pyenv, venv) does not see python3-aiosmtpd.
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install -q aiosmtpd \
    || python3 -m pip install -q --break-system-packages aiosmtpd

if [ ! -d ../shared/corpus ]; then
    echo "note: ../shared/corpus is absent: the corpus conformance tests will say SKIPPED"
fi

cargo test --all-targets --no-fail-fast
