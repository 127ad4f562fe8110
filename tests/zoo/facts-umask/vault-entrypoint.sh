#!/bin/sh
set -e
umask 0077
chown -R vault:vault /srv/vault
exec setpriv --reuid=vault --regid=vault --init-groups sh -c 'date >> /srv/vault/entries; exec sleep infinity'
