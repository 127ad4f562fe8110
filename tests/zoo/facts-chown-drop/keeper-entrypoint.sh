#!/bin/sh
set -e
# Started as root: make the data ours, then come back as keeper.
if [ "$(id -u)" = "0" ]; then
	chown -R keeper:keeper "$KEEPER_DATA"
	exec setpriv --reuid=keeper --regid=keeper --init-groups "$0" "$@"
fi
exec "$@"
