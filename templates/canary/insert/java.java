// harden: root canary: warn when this program runs as root (uid 0).
if ("root".equals(System.getProperty("user.name"))) {
    System.err.println("WARNING: this program is running as root (uid 0); this container should run as a non-root user");
}
