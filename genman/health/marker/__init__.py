"""The boot-time marker: a POSIX sh script and its unit or init script per init system."""
