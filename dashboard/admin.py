"""Admin registrations of dashboard (none yet)."""
