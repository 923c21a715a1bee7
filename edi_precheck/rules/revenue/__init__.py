"""Rules of the 'revenue' group."""
