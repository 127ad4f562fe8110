# Root canary: warn once, loudly, when this script runs as root.
# Put it near the top of the entrypoint script, before `exec`.
if [ "$(id -u)" -eq 0 ]; then
    echo "WARNING: ${0##*/} is running as root (uid 0); this container should run as a non-root user" >&2
fi
