"""Rules of the 'claim' group."""
