"""licenzy-sync: keep a Licenzy + Stripe billing setup in git."""

import os

try:  # written by setuptools-scm when the package is built or installed
    from licenzy_sync._version import __version__ as __version__
except ImportError:  # a source tree on sys.path that was never installed
    __version__ = "0.0.0"

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
"""Pydantic looks for plugins in every installed distribution's entry points the first time a
model is built (a third of `validate`'s start-up); no plugin has a say in this tool's models."""
