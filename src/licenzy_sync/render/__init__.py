"""Renderers: they read findings and plans, never compute them."""
