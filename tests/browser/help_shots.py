"""The screenshots the help pages show (``node/static/help/<name>.png``), made by
``tests/browser/test_help_screenshots.py``: pure data, so the non-browser test
(``tests/node/web/test_help.py``) can check the pages, the files and this list agree without
starting a browser (docs/help.md)."""

from __future__ import annotations

HELP_SHOTS: tuple[str, ...] = (
    "publiceren-formulier", "publiceren-gepubliceerd", "publiceren-plek",
    "vragen-formulier", "vragen-geplaatst",
    "beantwoorden-formulier", "beantwoorden-accepteren", "beantwoorden-geaccepteerd",
    "onderschrijven-formulier", "onderschrijven-gedaan",
    "volgen-als", "volgen-gevolgd", "volgen-mastodon",
    "uitnodigen-adres", "uitnodigen-knooppunt",
)
