"""Setup rules with stable ids: the static ones run offline, the remote ones during plan."""
