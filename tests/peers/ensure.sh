#!/bin/bash
# Make sure the real peers the tests talk to are installed and running:
# PostgreSQL on 127.0.0.1:5432 and the Dovecot binaries (the tests start their
# own throwaway Dovecot on a free port). Safe to run again; needs root for apt.
set -euo pipefail

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if ! command -v pg_ctlcluster >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
fi

missing=()
command -v dovecot >/dev/null || missing+=(dovecot-imapd)
# The web console's browser tests drive Debian's Chromium through its own driver (nothing downloaded at run time).
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "test peers ready: PostgreSQL $(pg_isready -h 127.0.0.1 -p 5432 | cut -d' ' -f3-), $(dovecot --version | cut -d' ' -f1 | sed 's/^/Dovecot /'), $(chromium --version 2>/dev/null | head -1)"
