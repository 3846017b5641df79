"""licenzy.yaml: its typed model, its loading into findings, secret references, its schema.

The YAML itself is read by `licenzy_sync.yamlsource`, which needs no pydantic.
"""

from licenzy_sync.lean_imports import lean_pydantic

lean_pydantic()  # before this package imports pydantic
