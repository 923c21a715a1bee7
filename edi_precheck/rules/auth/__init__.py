"""Rules of the 'auth' group."""
