"""Rules of the 'date' group."""
