#!/bin/sh
set -e
umask 0077
chown -R vault:vault /srv/vault
exec runuser -u vault -- sh -c 'date >> /srv/vault/entries; exec sleep infinity'
