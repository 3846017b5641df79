"""The managed kinds, one unit each (see `kinds.base.Kind`)."""
