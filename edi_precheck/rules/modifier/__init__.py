"""Rules of the 'modifier' group."""
