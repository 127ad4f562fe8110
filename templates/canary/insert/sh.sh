# harden: root canary: warn when this script runs as root (uid 0).
if [ "$(id -u)" -eq 0 ]; then
    echo "WARNING: ${0##*/} is running as root (uid 0); this container should run as a non-root user" >&2
fi
