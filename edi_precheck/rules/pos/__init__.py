"""Rules of the 'pos' group."""
