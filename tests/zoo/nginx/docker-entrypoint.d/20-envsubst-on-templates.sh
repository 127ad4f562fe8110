#!/bin/sh
# Renders NGINX_ENVSUBST_TEMPLATE_DIR/*NGINX_ENVSUBST_TEMPLATE_SUFFIX into
# NGINX_ENVSUBST_OUTPUT_DIR with envsubst, replacing only variables that are
# set. An output directory it cannot write is reported and skipped: nginx
# then starts with whatever configuration is already there.
set -e
me=$(basename "$0")
dir=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
out=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}

[ -d "$dir" ] || exit 0
if [ ! -w "$out" ]; then
    echo "$me: error: $out is not writable" >&2
    exit 0
fi
vars=$(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/${\1}/p' | tr '\n' ' ')
find "$dir" -follow -type f -name "*$suffix" | while read -r t; do
    rel=${t#"$dir"/}
    dest=$out/${rel%"$suffix"}
    mkdir -p "$(dirname "$dest")"
    echo "$me: rendering $t to $dest" >&2
    envsubst "$vars" <"$t" >"$dest"
done
