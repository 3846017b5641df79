"""Making Stripe and Licenzy match a Plan: ordering, idempotent writes, approval."""
