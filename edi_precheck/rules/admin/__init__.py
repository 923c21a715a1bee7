"""Rules of the 'admin' group."""
