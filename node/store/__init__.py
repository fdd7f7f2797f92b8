"""Storage: one module per aggregate; functions take the session first and return dataclasses."""
