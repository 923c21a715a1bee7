"""Rules of the 'ndc' group."""
