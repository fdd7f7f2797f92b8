"""Term names, type sets and media types of ActivityStreams 2.0 and of Kennisknoop's ``kk`` terms.

This is the vocabulary every other protocol module shares: which AS2 types we handle
(AS2 Vocabulary §3.1 activity types, §3.2 actor types, §3.3 object and link types), the public
collection (ActivityPub §5.6), the AS2 media types (AS2 Core §2, ActivityPub §3.2) and the plain
term names of our extension (declared in the inline ``@context`` by ``protocol.context``).

It also holds the two helpers every reader of raw AS2 needs, because a property may hold one
value or a list, and a reference may be an IRI or an embedded object (AS2 Core §4.1, §4.2)::

    >>> as_list("https://a.example/1")
    ['https://a.example/1']
    >>> get_id({"id": "https://a.example/1", "type": "Note"})
    'https://a.example/1'
    >>> is_activitypub_media_type('application/ld+json; profile="https://www.w3.org/ns/activitystreams"')
    True
"""

from __future__ import annotations

import re
from typing import Any, Final

RawObject = dict[str, Any]
"""An unvalidated JSON object as it came off the wire (after ``protocol.jsonlimits.load_json``)."""

AS_NS: Final = "https://www.w3.org/ns/activitystreams"
PUBLIC: Final = "https://www.w3.org/ns/activitystreams#Public"
# ActivityPub §5.6: compacted forms of the public collection that real servers send.
PUBLIC_ALIASES: Final = frozenset({PUBLIC, "as:Public", "Public"})

ACTIVITY_JSON: Final = "application/activity+json"
LD_JSON_AS: Final = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'

# Activity types the federation engine handles; anything else is ``unsupported_type``.
FOLLOW: Final = "Follow"
ACCEPT: Final = "Accept"
REJECT: Final = "Reject"
UNDO: Final = "Undo"
CREATE: Final = "Create"
UPDATE: Final = "Update"
DELETE: Final = "Delete"
ANNOUNCE: Final = "Announce"
FLAG: Final = "Flag"
MOVE: Final = "Move"  # an actor moved to a new actor that lists it in ``alsoKnownAs``
LIKE: Final = "Like"  # an initiative endorsing a bottleneck; anyone else's: support
ACTIVITY_TYPES: Final = frozenset(
    {FOLLOW, ACCEPT, REJECT, UNDO, CREATE, UPDATE, DELETE, ANNOUNCE, FLAG, LIKE, MOVE}
)

ACTOR_TYPES: Final = frozenset({"Application", "Group", "Organization", "Person", "Service"})

TOMBSTONE: Final = "Tombstone"
QUESTION: Final = "Question"
PLACE: Final = "Place"
OBJECT_TYPES: Final = frozenset(
    {
        "Article",
        "Audio",
        "Document",
        "Event",
        "Image",
        "Note",
        "Page",
        PLACE,
        QUESTION,
        TOMBSTONE,
        "Video",
    }
)
LINK_TYPES: Final = frozenset({"Link", "Mention", "Hashtag"})
COLLECTION_TYPES: Final = frozenset(
    {"Collection", "OrderedCollection", "CollectionPage", "OrderedCollectionPage"}
)

# Kennisknoop extension terms, as plain names (the inline @context of protocol.context maps them to
# the kk namespace, the way Mastodon maps its toot: terms), so documents read ``"version": 3``.
# Their fixed values (item kinds, legal forms, phases...) live with the themes in protocol.themes.
KK_KIND: Final = "kind"
KK_VERSION: Final = "version"
KK_LEGAL_FORM: Final = "legalForm"
KK_PHASE: Final = "phase"
KK_STATUS: Final = "status"
KK_THEMES: Final = "themes"
KK_PROVINCE_CODE: Final = "provinceCode"
KK_MUNICIPALITY_CODE: Final = "municipalityCode"
KK_ACCEPTED_ANSWER: Final = "acceptedAnswer"
KK_QUESTION_CATEGORY: Final = "questionCategory"
KK_REGULATION: Final = "regulation"
KK_LAST_CONFIRMED: Final = "lastConfirmed"
KK_REGULATION_AREA: Final = "regulationArea"
KK_OUTCOME: Final = "outcome"
KK_ENDORSEMENTS: Final = "endorsements"
KK_TERM_NAMES: Final = (
    KK_KIND,
    KK_VERSION,
    KK_LEGAL_FORM,
    KK_PHASE,
    KK_STATUS,
    KK_THEMES,
    KK_PROVINCE_CODE,
    KK_MUNICIPALITY_CODE,
    KK_ACCEPTED_ANSWER,
    KK_QUESTION_CATEGORY,
    KK_REGULATION,
    KK_LAST_CONFIRMED,
    KK_REGULATION_AREA,
    KK_OUTCOME,
    KK_ENDORSEMENTS,
)

def as_list(value: Any) -> list[Any]:
    """Return a property value as a list: ``None`` is empty, a list is copied, anything else wrapped.

    >>> as_list(None), as_list("a"), as_list(["a", "b"])
    ([], ['a'], ['a', 'b'])
    """
    if value is None:
        return []
    if isinstance(value, list):
        return list(value)
    return [value]


def get_id(value: Any) -> str | None:
    """Return the IRI a reference points at: the string itself, or an embedded object's ``id``.

    Does not validate the IRI; ``protocol.parse`` does that.

    >>> get_id("https://a.example/x"), get_id({"id": "https://a.example/y"}), get_id(3)
    ('https://a.example/x', 'https://a.example/y', None)
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        ap_id = value.get("id")
        return ap_id if isinstance(ap_id, str) else None
    return None


def is_public(iri: str) -> bool:
    """Whether an addressing IRI names the public collection (in any of its spellings).

    >>> is_public("https://www.w3.org/ns/activitystreams#Public"), is_public("as:Public")
    (True, True)
    """
    return iri in PUBLIC_ALIASES


# RFC 9110 §5.6.2 token and §5.6.4 quoted-string; §8.3.1 media-type with parameters.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[^\x00-\x08\x0a-\x1f\x7f])*"'
_MEDIA_TYPE = re.compile(rf"[ \t]*({_TOKEN})/({_TOKEN})[ \t]*")
_PARAMETER = re.compile(rf";[ \t]*(?:({_TOKEN})=({_TOKEN}|{_QUOTED}))?[ \t]*")
_QUOTED_PAIR = re.compile(r"\\(.)")


def _parse_media_type(content_type: str) -> tuple[str, dict[str, str]] | None:
    """Split a Content-Type/Accept member into ``type/subtype`` and its parameters, or ``None``."""
    match = _MEDIA_TYPE.match(content_type)
    if match is None:
        return None
    essence = f"{match.group(1)}/{match.group(2)}".lower()
    params: dict[str, str] = {}
    pos = match.end()
    while pos < len(content_type):
        param = _PARAMETER.match(content_type, pos)
        if param is None:
            return None
        pos = param.end()
        name, value = param.group(1), param.group(2)
        if name is None:
            continue  # RFC 9110 allows empty parameters ("a/b;;c=d")
        if value.startswith('"'):
            value = _QUOTED_PAIR.sub(r"\1", value[1:-1])
        name = name.lower()
        if name in params:
            return None  # a repeated parameter is ambiguous; refuse rather than guess
        params[name] = value
    return essence, params


def is_activitypub_media_type(content_type: str) -> bool:
    """Whether a ``Content-Type`` names an ActivityStreams document (ActivityPub §3.2).

    ``application/activity+json`` with any parameters, or ``application/ld+json`` whose
    ``profile`` (a space-separated list of IRIs, RFC 6906) includes the AS2 namespace.

    >>> is_activitypub_media_type('application/ld+json; profile="https://www.w3.org/ns/activitystreams"')
    True
    >>> is_activitypub_media_type("application/json")
    False
    """
    parsed = _parse_media_type(content_type)
    if parsed is None:
        return False
    essence, params = parsed
    if essence == ACTIVITY_JSON:
        return True
    if essence == "application/ld+json":
        return AS_NS in params.get("profile", "").split()
    return False
