// harden: root canary: warn when this program runs as root (uid 0).
if (typeof process.geteuid === "function" && process.geteuid() === 0) {
    console.error(
        `WARNING: ${process.argv[1] || process.argv0} is running as root (uid 0); this container should run as a non-root user`,
    );
}
