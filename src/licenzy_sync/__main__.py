from licenzy_sync.cli import main

main()
