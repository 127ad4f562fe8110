#!/usr/bin/env bash
# Prepare this machine for the end-to-end suite (`cargo test --test e2e`):
# Podman with runc, podman-compose, Debian's docker-registry (the image-facts
# tests push to a local one), and a local Debian base image, because no
# image registry is reachable from CI. Safe to run again: every step checks
# whether its work is already done, and the debootstrap tarball is cached.
set -euo pipefail

CACHE_DIR="${HARDEN_E2E_CACHE:-/var/cache/harden-e2e}"
BASE_IMAGE="localhost/debian:bookworm-slim"
SUITE="bookworm"
ROOTFS_TAR="$CACHE_DIR/debian-$SUITE-minbase.tar"

say() { printf 'e2e-setup: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    say "must run as root (installs packages, runs rootful Podman)"
    exit 2
fi

start=$(date +%s)

# 1. Packages. runc, not crun: crun fails on this machine's cgroup setup.
missing=()
for cmd in podman:podman runc:runc podman-compose:podman-compose debootstrap:debootstrap docker-registry:docker-registry; do
    bin=${cmd%%:*} pkg=${cmd##*:}
    command -v "$bin" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    say "podman, runc, podman-compose, debootstrap and docker-registry already installed"
fi

# 2. Engine configuration. The default ulimits and crun do not work here.
conf=/etc/containers/containers.conf
want=$'[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"'
if [ -f "$conf" ] && [ "$(cat "$conf")" = "$want" ]; then
    say "$conf already configured"
else
    if [ -f "$conf" ] && [ ! -f "$conf.harden-e2e.orig" ]; then
        cp -p "$conf" "$conf.harden-e2e.orig"
        say "saved the previous $conf as $conf.harden-e2e.orig"
    fi
    mkdir -p /etc/containers
    printf '%s\n' "$want" > "$conf"
    say "wrote $conf (runtime runc, no default ulimits)"
fi

# 3. The base image, built locally from Debian's packages.
if podman image exists "$BASE_IMAGE"; then
    say "$BASE_IMAGE already present"
else
    mkdir -p "$CACHE_DIR"
    if [ ! -s "$ROOTFS_TAR" ]; then
        # The mirror apt already uses on this machine: never hard-code one.
        mirror=""
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [ -f "$f" ] || continue
            mirror=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) { print $i; exit } }' "$f" |
                grep -E '/debian/?$' | head -n1 || true)
            [ -n "$mirror" ] && break
        done
        if [ -z "$mirror" ]; then
            for f in /etc/apt/sources.list.d/*.sources; do
                [ -f "$f" ] || continue
                mirror=$(awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f" |
                    grep -E '/debian/?$' | head -n1 || true)
                [ -n "$mirror" ] && break
            done
        fi
        if [ -z "$mirror" ]; then
            say "no Debian mirror found in /etc/apt/sources.list or /etc/apt/sources.list.d/"
            exit 2
        fi
        rootfs=$(mktemp -d /var/tmp/harden-e2e-rootfs.XXXXXX)
        trap 'rm -rf "$rootfs"' EXIT
        say "debootstrap --variant=minbase $SUITE (mirror from apt's sources)"
        debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" >/dev/null
        # Podman's tmpfs copies the image directory's mode: /tmp must be 1777.
        chmod 1777 "$rootfs/tmp"
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
        tar -C "$rootfs" -cf "$ROOTFS_TAR.partial" .
        mv "$ROOTFS_TAR.partial" "$ROOTFS_TAR"
        rm -rf "$rootfs"
        trap - EXIT
        say "cached the root filesystem in $ROOTFS_TAR"
    else
        say "using the cached root filesystem $ROOTFS_TAR"
    fi
    podman import -q "$ROOTFS_TAR" "$BASE_IMAGE" >/dev/null
    say "imported $BASE_IMAGE"
fi

say "ready: $(podman --version), podman-compose $(dpkg-query -W -f '${Version}' podman-compose 2>/dev/null || echo unknown), $(($(date +%s) - start)) s"
