"""Making Stripe and Licenzy match a Plan: ordering, idempotent writes, the converge loop."""
