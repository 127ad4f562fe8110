import "os"

// harden: root canary: warn when this program runs as root (uid 0).
func init() {
	if os.Geteuid() == 0 {
		os.Stderr.WriteString("WARNING: " + os.Args[0] + " is running as root (uid 0); this container should run as a non-root user\n")
	}
}
