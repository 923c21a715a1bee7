"""The one part of the build pyproject.toml cannot say: the compiled claim skim.

It is optional: where no C compiler is at hand the install goes on without it, and
edi_precheck/model/skim.py does the same work in Python.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("_edi_precheck_skim", ["edi_precheck/model/_skim.c"], optional=True)])
