"""Rules of the 'code' group."""
