"""Advisory data: import feeds (OSV, Alpine secdb, Debian tracker), store them in SQLite, compare versions."""
