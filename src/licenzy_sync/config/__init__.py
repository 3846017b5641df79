"""licenzy.yaml: reading it with positions, its typed model, secret references, its schema."""

from licenzy_sync.lean_imports import skip_pydantic_plugin_loader

skip_pydantic_plugin_loader()  # before any model of this package is built
