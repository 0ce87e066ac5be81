"""Admin registrations of occupation (none yet)."""
