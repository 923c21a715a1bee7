"""edi-precheck: find the billing mistakes in 837 drug lines before the payer does."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("edi-precheck")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
