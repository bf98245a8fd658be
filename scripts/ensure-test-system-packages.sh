#!/usr/bin/env bash
# Installs the Debian packages whose servers the test-suite starts on loopback
# (tests/servers/*): PostgreSQL, Dovecot IMAP, Chromium, Redis; and a Japanese font for Chromium.
#
# Idempotent: each package is checked by the file the fixtures actually run, and
# apt-get (update + install) only runs when something is missing. Services are
# kept from starting during install (policy-rc.d), because the fixtures run their
# own instances on free ports and never use the system ones.
set -euo pipefail

missing=()
# PostgreSQL: the fixtures need the server binaries, not only psql.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
[[ -x /usr/sbin/dovecot && -x /usr/lib/dovecot/imap ]] || missing+=(dovecot-imapd)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/bin/redis-server ]] || missing+=(redis-server)
# A Japanese font, so Chromium's screenshots (and axe's contrast checks) see real glyphs, not boxes.
[[ -e /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf ]] || missing+=(fonts-ipafont-gothic)

if ((${#missing[@]} == 0)); then
    exit 0
fi

SUDO=()
if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "ensure-test-system-packages: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO=(sudo -n)
fi

echo "ensure-test-system-packages: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive

# Keep postinst scripts from starting the system daemons (ports 5432/143/6379
# stay free and no stray daemons outlive the install). Only add the policy file
# when the machine has none, and remove exactly what we added.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
    "${SUDO[@]}" chmod +x "$policy"
    trap '"${SUDO[@]}" rm -f "$policy"' EXIT
fi

"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" >/dev/null
echo "ensure-test-system-packages: done" >&2
