"""Pure trading core: domain types, clock, order book, signals and the in-memory store."""
