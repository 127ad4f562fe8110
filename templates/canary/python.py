# Root canary: warn once, loudly, when this program runs as root.
# Put it at the top of the entry module, before the application starts.
import os
import sys

if hasattr(os, "geteuid") and os.geteuid() == 0:
    program = os.path.basename(sys.argv[0]) or "python"
    print(
        f"WARNING: {program} is running as root (uid 0); this container should run as a non-root user",
        file=sys.stderr,
        flush=True,
    )
