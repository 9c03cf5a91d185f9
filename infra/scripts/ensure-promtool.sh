#!/usr/bin/env bash
# Makes sure `promtool` (Prometheus's rule and config checker, from Debian's `prometheus` package) is on PATH:
# the alert-rule tests run it. Installs the package when missing (needs root and Debian's registry). Idempotent.
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-promtool: promtool is missing; install Debian's 'prometheus' package (needs root)" >&2
  exit 1
fi
echo "ensure-promtool: installing Debian's prometheus package for promtool"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
# The package enables a service; nothing here should be listening on 9090 because of a test dependency.
(command -v systemctl >/dev/null 2>&1 && systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1) || true
command -v promtool >/dev/null
