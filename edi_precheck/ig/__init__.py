"""Implementation-guide validation (SNIP 1-2) and 999 acknowledgments, by pyx12.

The only package that imports pyx12; nothing here is imported unless IG validation runs,
so `check --no-ig` never loads pyx12 or its maps.
"""
