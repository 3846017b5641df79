"""`verify`: prove a setup end to end through Licenzy's public runtime API and Stripe.

For each product of a mode, Licenzy is asked for a checkout with the mode's runtime key; the
Stripe Checkout Session it made must charge exactly the file's price, and is expired at once.
Expiring emits ``checkout.session.expired``, whose delivery to every subscribed endpoint
(Licenzy's among them) proves the webhook wiring. Nothing here reads Licenzy's portal.
"""
