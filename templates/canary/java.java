// Root canary: warn once, loudly, when this program runs as root.
// Save as RootCanary.java in the main class's package and call
// RootCanary.warn("my-service") first thing in main().
final class RootCanary {
    private RootCanary() {}

    static void warn(String program) {
        // The JVM takes user.name from the passwd entry of the process's uid.
        if ("root".equals(System.getProperty("user.name"))) {
            System.err.println("WARNING: " + program
                    + " is running as root (uid 0); this container should run as a non-root user");
        }
    }
}
