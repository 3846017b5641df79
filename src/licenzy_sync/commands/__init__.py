"""One module per online command; `licenzy_sync.cli` imports each only when it is invoked."""
