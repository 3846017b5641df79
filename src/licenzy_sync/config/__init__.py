"""licenzy.yaml: reading it with positions, its typed model, secret references, its schema."""
