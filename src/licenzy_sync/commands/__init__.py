"""One module per command; `licenzy_sync.cli` imports each only when it is invoked."""
