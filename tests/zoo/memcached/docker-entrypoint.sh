#!/bin/sh
# Entrypoint of the zoo's memcached look-alike, written for harden's tests:
# arguments that start with `-` are memcached's options.
set -e
case "$1" in -*) set -- memcached "$@" ;; esac
exec "$@"
