"""Rules of the 'units' group."""
