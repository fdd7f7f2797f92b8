"""HTTP handlers: they parse, call one service, render. Each module exports ``routes``."""
