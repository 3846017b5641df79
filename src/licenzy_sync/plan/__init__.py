"""The Plan: desired vs actual as data. Renderers and the executor only read it."""
