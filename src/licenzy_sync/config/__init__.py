"""licenzy.yaml: reading it with positions, its typed model, secret references, its schema."""

from licenzy_sync.lean_imports import lean_pydantic

lean_pydantic()  # before this package imports pydantic
