# harden: root canary: warn when this program runs as root (uid 0).
if Process.euid.zero?
    warn "WARNING: #{File.basename($PROGRAM_NAME)} is running as root (uid 0); this container should run as a non-root user"
end
