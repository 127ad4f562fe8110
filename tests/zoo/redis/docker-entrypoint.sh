#!/bin/sh
# Entrypoint of the zoo's redis look-alike, written for harden's tests:
# `redis-server` started as root gets the working directory (/data) handed to
# redis and re-runs this script as redis through gosu; the server runs with
# umask 0077 (files 0600, directories such as appendonlydir 0700) unless a
# stricter or looser umask than the default was chosen; without a config file
# protected mode is off, as in the official build.
set -e

case "$1" in -* | *.conf) set -- redis-server "$@" ;; esac

if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec gosu redis "$0" "$@"
fi

if [ "$1" = redis-server ]; then
    [ "$(umask)" = 0022 ] && umask 0077
    case "$2" in *.conf) ;; *) set -- "$@" --protected-mode no ;; esac
fi

exec "$@"
