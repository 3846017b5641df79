"""licenzy-sync: keep a Licenzy + Stripe billing setup in git."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("licenzy-sync")
except PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "0.0.0"
