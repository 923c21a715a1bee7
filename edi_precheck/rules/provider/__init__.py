"""Rules of the 'provider' group."""
