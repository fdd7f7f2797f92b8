"""Use cases: each function takes a ``NodeContext`` and never sees an HTTP request."""
