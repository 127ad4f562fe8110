#!/bin/sh
# Adds `listen [::]:80;` to the stock default.conf when IPv6 is available and
# the file may be changed; otherwise says why and leaves it.
conf=/etc/nginx/conf.d/default.conf
me=$(basename "$0")
[ -s /proc/net/if_inet6 ] || { echo "$me: info: no IPv6 here, $conf left as it is" >&2; exit 0; }
[ -f "$conf" ] || exit 0
if ! touch "$conf" 2>/dev/null; then
    echo "$me: info: can not modify $conf (read-only file system?)" >&2
    exit 0
fi
grep -q 'listen \[::\]' "$conf" && exit 0
sed -i 's/^\([[:space:]]*\)listen 80;/&\n\1listen [::]:80;/' "$conf"
echo "$me: info: enabled listen on IPv6 in $conf" >&2
