#!/usr/bin/env bash
# Makes sure `kcat` (the Kafka command-line producer, Debian package `kcat`) and `openssl` are on PATH: the
# README's shell recipe for signed events is run as written by a test (libs/testkit/src/ingest/
# ingest-readme-recipe.int.test.ts). Installs the packages when missing (needs root and Debian's registry). Idempotent.
set -euo pipefail
missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-kcat: ${missing[*]} missing; install Debian's ${missing[*]} package(s) (needs root)" >&2
  exit 1
fi
echo "ensure-kcat: installing Debian's ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
command -v kcat >/dev/null && command -v openssl >/dev/null
