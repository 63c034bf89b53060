"""Schema revisions, oldest first: 0001 (events table, as before migrations), 0002 (per-bot indexes)."""
