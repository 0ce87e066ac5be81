"""The supervisor: overrides in the admin and the spool page with its history."""
