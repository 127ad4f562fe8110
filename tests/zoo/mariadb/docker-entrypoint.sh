#!/bin/bash
# Entrypoint of the zoo's mariadb look-alike, written for harden's tests.
# `mariadbd` started as root: the datadir and the socket directory are handed
# to mysql (what mysql does not own yet) and the script re-runs itself through
# gosu. As mysql: an empty datadir is initialised (a root password is
# required unless explicitly allowed empty or random), MARIADB_DATABASE and
# MARIADB_USER are created by a server without networking, and
# /docker-entrypoint-initdb.d/*.sql|*.sh are applied; then the server starts.
set -Eeo pipefail
log() { printf 'entrypoint: %s\n' "$*" >&2; }

case "$1" in -*) set -- mariadbd "$@" ;; esac
case "$1" in mariadbd | mysqld) ;; *) exec "$@" ;; esac

datadir=$(my_print_defaults --mysqld | sed -n 's/^--datadir=//p' | tail -n1)
datadir=${datadir:-/var/lib/mysql}
sockdir=/run/mysqld

mkdir -p "$datadir" "$sockdir"
if [ "$(id -u)" = 0 ]; then
    find "$datadir" "$sockdir" \! -user mysql -exec chown mysql: '{}' +
    exec gosu mysql "$BASH_SOURCE" "$@"
fi

if [ -d "$datadir/mysql" ]; then
    log "datadir already holds databases: skipping initialisation"
else
    if [ -z "${MARIADB_ROOT_PASSWORD:-}" ] && [ -z "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-}" ] && [ -z "${MARIADB_RANDOM_ROOT_PASSWORD:-}" ]; then
        log "error: the database is not initialised and no root password option is set"
        log "       set MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD or MARIADB_RANDOM_ROOT_PASSWORD"
        exit 1
    fi
    if [ -n "${MARIADB_RANDOM_ROOT_PASSWORD:-}" ]; then
        MARIADB_ROOT_PASSWORD=$(head -c 18 /dev/urandom | base64)
        log "generated root password: $MARIADB_ROOT_PASSWORD"
    fi
    log "initialising $datadir"
    mariadb-install-db --datadir="$datadir" --skip-test-db --auth-root-authentication-method=normal \
        --skip-name-resolve --rpm >/dev/null
    "$@" --skip-networking --socket="$sockdir/init.sock" &
    pid=$!
    for _ in $(seq 60); do
        mariadb-admin --socket="$sockdir/init.sock" --user=root ping >/dev/null 2>&1 && break
        sleep 1
    done
    sql() { mariadb --socket="$sockdir/init.sock" --user=root --binary-mode "$@"; }
    esc() { printf '%s' "$1" | sed "s/'/''/g; s/\\\\/\\\\\\\\/g"; }
    {
        printf "SET @@SESSION.SQL_LOG_BIN=0;\n"
        printf "CREATE USER 'root'@'%%' IDENTIFIED BY '%s';\n" "$(esc "${MARIADB_ROOT_PASSWORD:-}")"
        printf "GRANT ALL ON *.* TO 'root'@'%%' WITH GRANT OPTION;\n"
        printf "ALTER USER 'root'@'localhost' IDENTIFIED BY '%s';\n" "$(esc "${MARIADB_ROOT_PASSWORD:-}")"
        if [ -n "${MARIADB_DATABASE:-}" ]; then
            printf 'CREATE DATABASE IF NOT EXISTS `%s`;\n' "$MARIADB_DATABASE"
        fi
        if [ -n "${MARIADB_USER:-}" ]; then
            printf "CREATE USER '%s'@'%%' IDENTIFIED BY '%s';\n" "$MARIADB_USER" "$(esc "${MARIADB_PASSWORD:-}")"
            [ -z "${MARIADB_DATABASE:-}" ] || printf 'GRANT ALL ON `%s`.* TO '"'%s'@'%%'"';\n' "$MARIADB_DATABASE" "$MARIADB_USER"
        fi
    } | sql
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sql) log "running $f"; sql --password="${MARIADB_ROOT_PASSWORD:-}" ${MARIADB_DATABASE:+"$MARIADB_DATABASE"} <"$f" ;;
            *.sh) log "running $f"; . "$f" ;;
            */\*) ;;
            *) log "ignoring $f" ;;
        esac
    done
    kill "$pid"
    wait "$pid" || :
    log "initialisation complete"
fi

exec "$@"
