# harden: root canary: warn when this program runs as root (uid 0).
import os
import sys

if hasattr(os, "geteuid") and os.geteuid() == 0:
    print(
        "WARNING: %s is running as root (uid 0); this container should run as a non-root user"
        % (os.path.basename(sys.argv[0]) or "python"),
        file=sys.stderr,
        flush=True,
    )
