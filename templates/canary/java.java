// Root canary: warn once, loudly, when this program runs as root.
// Save as RootCanary.java in the main class's package and call
// RootCanary.warn("my-service") first thing in main().
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;

final class RootCanary {
    private RootCanary() {}

    static void warn(String program) {
        if (isRoot()) {
            System.err.println("WARNING: " + program
                    + " is running as root (uid 0); this container should run as a non-root user");
        }
    }

    /** The effective uid from /proc (Linux); elsewhere, the user name. */
    private static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    String[] ids = line.substring(4).trim().split("\\s+");
                    return ids.length > 1 && ids[1].equals("0");
                }
            }
        } catch (IOException e) {
            // No /proc: fall through to the user name.
        }
        return "root".equals(System.getProperty("user.name"));
    }
}
