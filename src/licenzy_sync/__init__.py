"""licenzy-sync: keep a Licenzy + Stripe billing setup in git."""

__version__ = "0.1.0"
