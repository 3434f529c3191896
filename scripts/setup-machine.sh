#!/usr/bin/env bash
# Everything a fresh Debian/Ubuntu machine needs before `pnpm install && pnpm test`, and nothing
# else: the README tells people to run this, and .ci/run runs this same file, so the two can
# never drift apart (issue 15). Safe to run again: it only installs what is missing.
#
#   pnpm 10        installed with npm (corepack cannot verify signatures on every machine)
#   redis-server   the test harness starts its own servers and a 3-master cluster from it
#   chromium       test/e2e/*chromium*.test.ts drive a real headless browser (never skipped)
#
# Needs Node.js >= 20 with npm already on PATH; apt-get runs through sudo when not root.
set -euo pipefail

log() { printf '\n== %s\n' "$*"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v node >/dev/null 2>&1; then
  echo "Node.js >= 20 (with npm) is needed first: https://nodejs.org/en/download" >&2
  exit 1
fi

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version | cut -d. -f1)" != 10 ]; then
  log "installing pnpm 10"
  npm install -g pnpm@10
fi

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# Debian names the package and the binary chromium; the tests also look for chromium-browser
# (Ubuntu) or CHROMIUM_PATH.
if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1 &&
  ! command -v chromium-browser >/dev/null 2>&1; then
  missing+=(chromium)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}"
fi

log "ready: node $(node --version), pnpm $(pnpm --version), $(redis-server --version | cut -d' ' -f1-3)"
