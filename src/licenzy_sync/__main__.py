from licenzy_sync.program import run

run()
