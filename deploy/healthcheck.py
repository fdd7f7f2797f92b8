#!/usr/bin/env python3
"""Exit 0 when URL answers 200 within 5 seconds, 1 otherwise: the container healthcheck.

The slim image has no curl or wget; Python is there anyway. Default URL: /healthz of the
web process in the same container (``KENNISKNOOP_SERVER_PORT``, default 8000).
"""

import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    port = os.environ.get("KENNISKNOOP_SERVER_PORT", "8000")
    url = argv[1] if len(argv) > 1 else f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            ok = response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
