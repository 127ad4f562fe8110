// Root canary: warn once, loudly, when this program runs as root.
// Put it at the top of the entry script, before the server starts.
if (typeof process.geteuid === "function" && process.geteuid() === 0) {
  const program = process.argv[1] || process.argv0;
  console.error(
    `WARNING: ${program} is running as root (uid 0); this container should run as a non-root user`,
  );
}
