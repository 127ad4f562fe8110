# Root canary: warn once, loudly, when this program runs as root.
# Put it at the top of the entry script, before the application starts.
if Process.euid.zero?
  warn "WARNING: #{File.basename($PROGRAM_NAME)} is running as root (uid 0); this container should run as a non-root user"
end
