"""`python -m edi_precheck` runs the command line."""

from edi_precheck.cli import main

main()
