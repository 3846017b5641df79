"""Local, stateful emulators of the Stripe and Licenzy surface licenzy-sync uses.

Never imported by the core: the CLI reaches it lazily for `--sandbox` and `sandbox ...`.
"""
