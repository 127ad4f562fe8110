// Root canary: warn once, loudly, when this program runs as root.
// Save as canary.go next to the main package's main.go.
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

func init() {
	if os.Geteuid() == 0 {
		fmt.Fprintf(os.Stderr, "WARNING: %s is running as root (uid 0); this container should run as a non-root user\n", filepath.Base(os.Args[0]))
	}
}
