"""The theme scheme (SKOS) and the fixed value lists of the ``kk`` terms, with Dutch and English labels.

Themes travel as AS2 ``Hashtag`` tags (so Mastodon shows ``#zorg``) whose ``href`` is the theme's
concept IRI ``https://kennisknoop.nl/themes/<id>`` (DESIGN.md, Objects). The scheme is shipped
with the code and is the same on every node; ``to_skos`` publishes it as a SKOS ConceptScheme
(SKOS Reference §4–§8) in JSON-LD. Machine identifiers never change; labels may be improved.

Usage::

    build_tags(["energy-generation"])
    # [{"type": "Hashtag", "href": "https://kennisknoop.nl/themes/energy-generation",
    #   "name": "#energie"}]
    parse_tags(note["tag"])   # ["energy-generation"]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from protocol.context import KK_NAMESPACE

__all__ = [
    "BOTTLENECK_STATUSES",
    "ITEM_KINDS",
    "LEGAL_FORMS",
    "PHASES",
    "PROVINCES",
    "QUESTION_CATEGORIES",
    "REGULATION_AREAS",
    "SCHEME_IRI",
    "STATUSES",
    "THEME_BASE",
    "Label",
    "Theme",
    "all_themes",
    "broader",
    "build_tags",
    "concept_iri",
    "expand",
    "from_concept_iri",
    "from_hashtag",
    "get",
    "hashtag",
    "is_theme",
    "narrower",
    "parse_tags",
    "to_skos",
]

SCHEME_IRI = "https://kennisknoop.nl/themes"
THEME_BASE = SCHEME_IRI + "/"
SKOS_NAMESPACE = "http://www.w3.org/2004/02/skos/core#"


@dataclass(frozen=True)
class Label:
    """A Dutch and an English label; Dutch comes first everywhere in the interface."""

    nl: str
    en: str


@dataclass(frozen=True)
class Theme:
    """One concept of the theme scheme."""

    id: str
    label: Label
    hashtag: str  # Dutch, lowercase, no spaces and no leading '#'
    broader: str | None = None


def _theme(theme_id: str, nl: str, en: str, tag: str, parent: str | None = None) -> Theme:
    return Theme(theme_id, Label(nl, en), tag, parent)


_CARE = "care-wellbeing"
_SUSTAINABILITY = "sustainability"
_FACILITIES = "facilities"
_HOUSING = "housing"

_THEMES: tuple[Theme, ...] = (
    _theme(_CARE, "Zorg en welzijn", "Care and wellbeing", "zorg"),
    _theme("meeting", "Ontmoeting", "Meeting", "ontmoeting", _CARE),
    _theme("neighbour-help", "Burenhulp", "Neighbour help", "burenhulp", _CARE),
    _theme("meals", "Maaltijden", "Meals", "maaltijden", _CARE),
    _theme("transport", "Vervoer", "Transport", "vervoer", _CARE),
    _theme("day-care", "Dagbesteding", "Day care", "dagbesteding", _CARE),
    _theme("housing-with-care", "Wonen met zorg", "Housing with care", "wonenmetzorg", _CARE),
    _theme("dementia", "Dementie", "Dementia", "dementie", _CARE),
    _theme(_SUSTAINABILITY, "Duurzaamheid", "Sustainability", "duurzaamheid"),
    _theme("energy-generation", "Energieopwekking", "Energy generation", "energie",
           _SUSTAINABILITY),
    _theme("energy-saving", "Energiebesparing", "Energy saving", "energiebesparing",
           _SUSTAINABILITY),
    _theme("green-space", "Groen", "Green space", "groen", _SUSTAINABILITY),
    _theme("local-food", "Lokaal voedsel", "Local food", "lokaalvoedsel", _SUSTAINABILITY),
    _theme("sharing-repair", "Delen en repareren", "Sharing and repair", "delenenrepareren",
           _SUSTAINABILITY),
    _theme("local-economy", "Lokale economie", "Local economy", "lokaleeconomie",
           _SUSTAINABILITY),
    _theme("mobility", "Mobiliteit", "Mobility", "mobiliteit", _SUSTAINABILITY),
    _theme("broadband", "Glasvezel", "Broadband", "glasvezel"),
    _theme(_FACILITIES, "Voorzieningen", "Facilities", "voorzieningen"),
    _theme("shop", "Dorpswinkel", "Village shop", "dorpswinkel", _FACILITIES),
    _theme("pool", "Zwembad", "Swimming pool", "zwembad", _FACILITIES),
    _theme("library", "Bibliotheek", "Library", "bibliotheek", _FACILITIES),
    _theme("village-hall", "Dorpshuis", "Village hall", "dorpshuis", _FACILITIES),
    _theme(_HOUSING, "Wonen", "Housing", "wonen"),
    _theme("collective-commissioning", "Collectief particulier opdrachtgeverschap",
           "Collective private commissioning", "cpo", _HOUSING),
    _theme("education", "Onderwijs", "Education", "onderwijs"),
)

_BY_ID: Mapping[str, Theme] = MappingProxyType({theme.id: theme for theme in _THEMES})
_BY_HASHTAG: Mapping[str, str] = MappingProxyType({theme.hashtag: theme.id for theme in _THEMES})


def _labels(*rows: tuple[str, str, str]) -> Mapping[str, Label]:
    return MappingProxyType({key: Label(nl, en) for key, nl, en in rows})


LEGAL_FORMS = _labels(
    ("cooperative", "Coöperatie", "Cooperative"),
    ("association", "Vereniging", "Association"),
    ("foundation", "Stichting", "Foundation"),
    ("residents-company", "Bewonersbedrijf", "Residents' company"),
    ("informal", "Informeel (geen rechtsvorm)", "Informal (no legal entity)"),
)
PHASES = _labels(
    ("idea", "Idee", "Idea"),
    ("starting", "Opstartfase", "Starting"),
    ("active", "Actief", "Active"),
    ("mature", "Volwassen", "Mature"),
)
STATUSES = _labels(
    ("active", "Actief", "Active"),
    ("on-hold", "Gepauzeerd", "On hold"),
    ("completed", "Afgerond", "Completed"),
    ("stopped", "Gestopt", "Stopped"),
)
ITEM_KINDS = _labels(
    ("story", "Verhaal", "Story"),
    ("guide", "Handleiding", "Guide"),
    ("template", "Voorbeelddocument", "Template"),
    ("question", "Vraag", "Question"),
    ("answer", "Antwoord", "Answer"),
    ("bottleneck", "Knelpunt", "Bottleneck"),
    ("event", "Bijeenkomst", "Event"),
)
QUESTION_CATEGORIES = _labels(
    ("content", "Inhoudelijk", "Content"),
    ("organisational", "Organisatorisch", "Organisational"),
    ("ethical", "Ethisch", "Ethical"),
)
#: Where a bottleneck stands (``kk:status`` of a bottleneck), set by its origin's editors.
BOTTLENECK_STATUSES = _labels(
    ("open", "Open", "Open"),
    ("raised", "Aangekaart", "Raised"),
    ("resolved", "Opgelost", "Resolved"),
    ("rejected", "Afgewezen", "Rejected"),
)
#: The area of regulation a bottleneck is in (``kk:regulationArea``), for the national agenda:
#: the fields of law the bottlenecks of the field study fall into (docs/bottlenecks.md).
REGULATION_AREAS = _labels(
    ("tax", "Belastingen", "Tax"),
    ("charity-status", "ANBI en giften", "Charitable status and gifts"),
    ("social-security", "Uitkeringen en vrijwilligerswerk", "Benefits and volunteering"),
    ("care", "Zorg en Wmo", "Care and social support"),
    ("energy", "Energie", "Energy"),
    ("spatial-planning", "Ruimtelijke ordening", "Spatial planning"),
    ("accountability", "Verantwoording en regeldruk", "Accountability and red tape"),
    ("funding", "Financiering en subsidies", "Funding and grants"),
    ("right-to-challenge", "Right to Challenge", "Right to Challenge"),
    ("other", "Overig", "Other"),
)
#: CBS province codes (the Dutch name is the official one; English where it differs).
PROVINCES = _labels(
    ("PV20", "Groningen", "Groningen"),
    ("PV21", "Fryslân", "Friesland"),
    ("PV22", "Drenthe", "Drenthe"),
    ("PV23", "Overijssel", "Overijssel"),
    ("PV24", "Flevoland", "Flevoland"),
    ("PV25", "Gelderland", "Gelderland"),
    ("PV26", "Utrecht", "Utrecht"),
    ("PV27", "Noord-Holland", "North Holland"),
    ("PV28", "Zuid-Holland", "South Holland"),
    ("PV29", "Zeeland", "Zeeland"),
    ("PV30", "Noord-Brabant", "North Brabant"),
    ("PV31", "Limburg", "Limburg"),
)


def get(theme_id: str) -> Theme:
    """Return a theme by id.

    Raises:
        KeyError: the id is not in the scheme.

    >>> get("care-wellbeing").label.nl
    'Zorg en welzijn'
    """
    return _BY_ID[theme_id]


def all_themes() -> tuple[Theme, ...]:
    """All themes in scheme order: each top-level theme followed by its narrower ones.

    >>> [theme.id for theme in all_themes()][:2]
    ['care-wellbeing', 'meeting']
    """
    return _THEMES


def is_theme(theme_id: object) -> bool:
    """Whether a value is a theme id of the scheme.

    >>> is_theme("care-wellbeing"), is_theme("cats")
    (True, False)
    """
    return isinstance(theme_id, str) and theme_id in _BY_ID


def broader(theme_id: str) -> str | None:
    """The id of the broader (top-level) theme, or ``None`` for a top-level theme.

    >>> broader("energy-generation"), broader("sustainability")
    ('sustainability', None)
    """
    return get(theme_id).broader


def narrower(theme_id: str) -> list[str]:
    """The ids of the themes directly under ``theme_id``.

    >>> "energy-generation" in narrower("sustainability")
    True
    """
    get(theme_id)
    return [theme.id for theme in _THEMES if theme.broader == theme_id]


def expand(theme_ids: Iterable[str]) -> list[str]:
    """The given ids plus their broader themes, each once, in first-seen order.

    A theme feed (``zorg@…``) matches an item tagged ``meals`` through this.

    >>> expand(["energy-generation", "local-food"])
    ['energy-generation', 'sustainability', 'local-food']
    """
    seen: dict[str, None] = {}
    for theme_id in theme_ids:
        seen[theme_id] = None
        parent = broader(theme_id)
        if parent is not None:
            seen[parent] = None
    return list(seen)


def concept_iri(theme_id: str) -> str:
    """The SKOS concept IRI of a theme.

    >>> concept_iri("care-wellbeing")
    'https://kennisknoop.nl/themes/care-wellbeing'
    """
    return THEME_BASE + get(theme_id).id


def hashtag(theme_id: str) -> str:
    """The Dutch hashtag of a theme, without ``#`` (``zorg``).

    >>> hashtag("care-wellbeing")
    'zorg'
    """
    return get(theme_id).hashtag


def from_concept_iri(iri: object) -> str | None:
    """The theme id named by one of our concept IRIs, or ``None``.

    >>> from_concept_iri(concept_iri("care-wellbeing")), from_concept_iri("https://elders.example/x")
    ('care-wellbeing', None)
    """
    if isinstance(iri, str) and iri.startswith(THEME_BASE):
        theme_id = iri[len(THEME_BASE) :]
        return theme_id if theme_id in _BY_ID else None
    return None


def from_hashtag(name: object) -> str | None:
    """The theme id of a hashtag (``#Zorg``, ``zorg``: Mastodon compares case-insensitively).

    >>> from_hashtag("#Zorg"), from_hashtag("#kat")
    ('care-wellbeing', None)
    """
    if not isinstance(name, str):
        return None
    return _BY_HASHTAG.get(name.removeprefix("#").casefold())


def build_tags(theme_ids: Iterable[str]) -> list[dict[str, Any]]:
    """AS2 ``Hashtag`` tags for themes: ``name`` is the Dutch hashtag, ``href`` the concept IRI.

    Raises:
        KeyError: an id is not in the scheme.

    >>> build_tags(["energy-generation"])[0]["name"]
    '#energie'
    """
    tags: list[dict[str, Any]] = []
    for theme_id in dict.fromkeys(theme_ids):
        theme = get(theme_id)
        tags.append({"type": "Hashtag", "href": concept_iri(theme.id), "name": f"#{theme.hashtag}"})
    return tags


def parse_tags(tags: Any) -> list[str]:
    """Recover theme ids from an AS2 ``tag`` value; tags that are not our themes are ignored.

    Our concept IRI (in ``href`` or ``id``, or a bare IRI) wins; otherwise a ``Hashtag`` whose
    name is one of our Dutch hashtags counts, so a post from Mastodon tagged ``#zorg`` is found.

    >>> parse_tags([{"type": "Hashtag", "name": "#energie"}, {"type": "Hashtag", "name": "#kat"}])
    ['energy-generation']
    """
    found: dict[str, None] = {}
    for tag in tags if isinstance(tags, list) else [tags]:
        theme_id: str | None = None
        if isinstance(tag, str):
            theme_id = from_concept_iri(tag)
        elif isinstance(tag, dict):
            theme_id = from_concept_iri(tag.get("href")) or from_concept_iri(tag.get("id"))
            if theme_id is None and tag.get("type") == "Hashtag":
                theme_id = from_hashtag(tag.get("name"))
        if theme_id is not None:
            found[theme_id] = None
    return list(found)


def to_skos() -> dict[str, Any]:
    """The scheme as a JSON-LD SKOS ``ConceptScheme`` document with all its concepts.

    >>> sorted(to_skos())
    ['@context', '@graph']
    """
    top = [concept_iri(theme.id) for theme in _THEMES if theme.broader is None]
    scheme: dict[str, Any] = {
        "id": SCHEME_IRI,
        "type": "ConceptScheme",
        "prefLabel": {"nl": "Thema's van Kennisknoop", "en": "Kennisknoop themes"},
        "hasTopConcept": top,
    }
    concepts: list[dict[str, Any]] = []
    for theme in _THEMES:
        concept: dict[str, Any] = {
            "id": concept_iri(theme.id),
            "type": "Concept",
            "notation": theme.id,
            "prefLabel": {"nl": theme.label.nl, "en": theme.label.en},
            "hashtag": theme.hashtag,
            "inScheme": SCHEME_IRI,
        }
        if theme.broader is None:
            concept["topConceptOf"] = SCHEME_IRI
        else:
            concept["broader"] = concept_iri(theme.broader)
        children = narrower(theme.id)
        if children:
            concept["narrower"] = [concept_iri(child) for child in children]
        concepts.append(concept)

    def _ref(name: str) -> dict[str, str]:
        return {"@id": f"skos:{name}", "@type": "@id"}

    return {
        "@context": {
            "skos": SKOS_NAMESPACE,
            "kk": KK_NAMESPACE,
            "id": "@id",
            "type": "@type",
            "ConceptScheme": "skos:ConceptScheme",
            "Concept": "skos:Concept",
            "prefLabel": {"@id": "skos:prefLabel", "@container": "@language"},
            "notation": "skos:notation",
            "hashtag": "kk:hashtag",
            "inScheme": _ref("inScheme"),
            "topConceptOf": _ref("topConceptOf"),
            "hasTopConcept": _ref("hasTopConcept"),
            "broader": _ref("broader"),
            "narrower": _ref("narrower"),
        },
        "@graph": [scheme, *concepts],
    }
