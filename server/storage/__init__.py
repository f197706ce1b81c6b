"""Storage backends behind one interface (`base.Storage`): SQLite (default) and Redis."""
