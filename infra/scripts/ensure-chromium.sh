#!/usr/bin/env bash
# Makes sure Debian's `chromium` (driven by playwright-core in the console's browser tests; playwright never
# downloads a browser here) and a CJK font (so the zh-CN screens render glyphs, not boxes, in screenshots) are
# installed. Installs what is missing (needs root and Debian's registry); a no-op when both are there.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
if ! fc-list 2>/dev/null | grep -qi -e 'WenQuanYi' -e 'Noto Sans CJK'; then missing+=(fonts-wqy-microhei); fi
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-chromium: missing ${missing[*]}; install them with apt-get (needs root)" >&2
  exit 1
fi
echo "ensure-chromium: installing ${missing[*]} from Debian"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ -x /usr/bin/chromium ]
