#!/bin/bash
# Entrypoint of the zoo's postgres look-alike, written for harden's tests. It
# behaves as the official image documents: started as root it creates PGDATA
# and the socket directory, hands anything not owned by postgres to postgres
# and re-runs itself through gosu; as postgres (or any uid) it initialises an
# empty PGDATA (POSTGRES_PASSWORD required, /docker-entrypoint-initdb.d run by
# a socket-only temporary server) and finally execs the server.
set -Eeo pipefail

log() { printf 'entrypoint: %s\n' "$*" >&2; }

case "$1" in -*) set -- postgres "$@" ;; esac
[ "$1" = postgres ] || exec "$@"

: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}" "${POSTGRES_HOST_AUTH_METHOD:=}"
sockdir=/var/run/postgresql

if [ -n "${PG_LAYOUT_18:-}" ]; then
    # From 18 on, data left where the old images kept it stops the start:
    # the person migrating must move it (pg_upgrade) first.
    old=/var/lib/postgresql/data
    if [ "$PGDATA" != "$old" ] && { mountpoint -q "$old" 2>/dev/null || [ -s "$old/PG_VERSION" ]; }; then
        log "error: $old holds a database or is a mount point, but PGDATA is $PGDATA in this image"
        log "       mount the volume at /var/lib/postgresql instead and upgrade the old cluster first"
        exit 1
    fi
fi

mkdir -p "$PGDATA"
chmod 700 "$PGDATA" || :
mkdir -p "$sockdir" || :
chmod 3775 "$sockdir" || :
if [ "$(id -u)" = 0 ]; then
    find "$PGDATA" "$sockdir" \! -user postgres -exec chown postgres '{}' +
    exec gosu postgres "$BASH_SOURCE" "$@"
fi

if [ -s "$PGDATA/PG_VERSION" ]; then
    log "PGDATA already holds a database: skipping initialisation"
else
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
        log "error: the database is not initialised and POSTGRES_PASSWORD is empty"
        exit 1
    fi
    # --pwfile reads the password from standard input here.
    initdb --username="$POSTGRES_USER" --pwfile=/dev/stdin $POSTGRES_INITDB_ARGS <<<"${POSTGRES_PASSWORD:-}"
    printf '\nhost all all all %s\n' "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$PGDATA/pg_hba.conf"
    # A server on the unix socket only, for the setup.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
    sql() { PGPASSWORD="${POSTGRES_PASSWORD:-}" psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" "$@"; }
    if [ "$POSTGRES_DB" != postgres ]; then
        sql --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sql) log "running $f"; sql --dbname "$POSTGRES_DB" -f "$f" ;;
            *.sh) log "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
            */\*) ;;
            *) log "ignoring $f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
    log "initialisation complete"
fi

exec "$@"
