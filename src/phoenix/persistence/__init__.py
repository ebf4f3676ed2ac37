"""Durable state of the live runner: SQLite ledger, snapshots, single-instance lock, ledger reports."""
