"""Rules of the 'x12' group."""
