"""Rules of the 'dx' group."""
