#!/bin/sh
# Entrypoint of the zoo's nginx look-alike, written for harden's tests: before
# nginx starts, each executable /docker-entrypoint.d/*.sh runs and each
# *.envsh is sourced, in name order; anything else there is skipped.
set -e
say() { [ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ] || printf '%s: %s\n' "$0" "$*" >&2; }

case "$1" in
    nginx | nginx-debug)
        for f in /docker-entrypoint.d/*; do
            [ -f "$f" ] || continue
            case "$f" in
                *.envsh) say "sourcing $f"; . "$f" ;;
                *.sh)
                    if [ -x "$f" ]; then say "running $f"; "$f"; else say "skipping $f, not executable"; fi
                    ;;
                *) say "ignoring $f" ;;
            esac
        done
        say "configuration complete; starting nginx"
        ;;
esac
exec "$@"
