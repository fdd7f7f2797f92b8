"""Every input of the JSON API, defined once as pydantic models: validation and OpenAPI schemas.

Field names are the JSON API's (snake_case); the field types of ``fieldtypes.py`` carry the
checks, the limits and the vocabularies of ``protocol.themes``. ``node/web/openapi.py`` builds
its component schemas from ``SCHEMAS`` below; ``validation.py`` turns a failure into our 422.

Conventions shared by every field: ``null``, an absent key and a blank string mean the same
thing on create (blank entries of string lists are dropped); in a patch ``null`` clears a field
back to its default, unless the field is required. A patch changes only the fields it names
(``model_fields_set``). Knowledge items have one model per kind (``StoryInput`` …), told apart
by ``kind``; a field of another kind is refused with ``field_not_for_kind``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    create_model,
    model_validator,
)

from node.services.content import round_coordinates
from node.services.fieldtypes import (
    LANGUAGE,
    MAX_URL,
    MEDIA_TYPE,
    MUNICIPALITY,
    PLAIN_TEXT,
    ActorRef,
    Choice,
    Coordinate,
    Handle,
    HttpUrl,
    IsoDate,
    IsoDateTime,
    Markdown,
    Plain,
    Ref,
    fail,
    theme_ids,
    unique,
)
from protocol import themes as vocab

Text = Annotated[str, Plain(200)]
ThemeList = Annotated[tuple[Annotated[str, Choice.of(theme_ids(), "unknown_theme")], ...],
                      Field(max_length=20), AfterValidator(unique)]
TextList = Annotated[tuple[Text, ...], Field(max_length=50)]
Url = Annotated[str, HttpUrl()]
BOTTLENECK_STATUSES = tuple(vocab.BOTTLENECK_STATUSES)


def _blank(value: object) -> bool:
    return isinstance(value, str) and not value.strip()


class InputModel(BaseModel):
    """Base of every input: frozen, unknown fields refused, blanks and nulls read as above."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=False)
    # Fields whose null is dropped although this model lacks them (fields of other item kinds).
    foreign_fields: ClassVar[frozenset[str]] = frozenset()
    nulls_clear: ClassVar[bool] = False  # patches: null is a value (clear the field)

    @model_validator(mode="before")
    @classmethod
    def _blanks_are_null(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {}
        for key, value in data.items():
            if _blank(value):
                value = None
            elif isinstance(value, list):
                value = [entry for entry in value if not _blank(entry)]
            if value is None and (key in cls.foreign_fields
                                  or (key in cls.model_fields and not cls.nulls_clear)):
                continue
            out[key] = value
        return out

    @model_validator(mode="after")
    def _end_not_before_start(self) -> InputModel:
        start, end = getattr(self, "start_time", None), getattr(self, "end_time", None)
        if start is not None and end is not None and end < start:
            raise fail("bad_value", "must not be before start_time", "end_time")
        return self


class PlaceInput(InputModel):
    """Where: village precision by default (coordinates are rounded to two decimals, about
    1 km) unless ``exact`` is true."""

    name: Annotated[str, Plain(200)] | None = None
    latitude: Annotated[float, Coordinate(90)] | None = None
    longitude: Annotated[float, Coordinate(180)] | None = None
    province_code: Annotated[str, Choice.of(vocab.PROVINCES, upper=True)] | None = Field(
        default=None, description="CBS province code.")
    municipality_code: Annotated[str, MUNICIPALITY] | None = Field(
        default=None, description="CBS municipality code.")
    exact: Annotated[bool, Strict()] = False

    model_config = ConfigDict(json_schema_extra={
        "dependentRequired": {"latitude": ["longitude"], "longitude": ["latitude"]}})

    @model_validator(mode="after")
    def _round(self) -> PlaceInput:
        lat, lon = self.latitude, self.longitude
        if (lat is None) != (lon is None):
            missing = "latitude" if lat is None else "longitude"
            raise fail("bad_coordinates", "latitude and longitude go together", missing)
        if lat is not None and lon is not None:
            lat, lon = round_coordinates(lat, lon, self.exact)
            object.__setattr__(self, "latitude", lat)
            object.__setattr__(self, "longitude", lon)
        return self


class AttachmentInput(InputModel):
    url: Url
    name: Text | None = None
    media_type: Annotated[str, MEDIA_TYPE] | None = Field(default=None, examples=["application/pdf"])
    digest_multibase: Annotated[str, Field(pattern=r"^z[1-9A-HJ-NP-Za-km-z]{20,100}$")] | None = Field(
        default=None, description="Multihash of the content, multibase base58btc (as "
        "`POST /api/attachments` returns it); filled in for files uploaded to this node.")


# --- initiatives ----------------------------------------------------------------------------------


class InitiativeInput(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"handle": "dorpsmolen-reduzum", "name": "Dorpsmolen Reduzum",
         "legal_form": "cooperative", "themes": ["energy-generation"]}]})

    handle: Annotated[str, Handle()] = Field(
        description="Becomes handle@host; cannot change later.")
    name: Text = Field(description=PLAIN_TEXT)
    summary: Annotated[str, Plain(500)] | None = None
    description: Annotated[str, Markdown(50_000)] | None = None
    legal_form: Annotated[str, Choice.of(vocab.LEGAL_FORMS)] | None = None
    themes: ThemeList = ()
    phase: Annotated[str, Choice.of(vocab.PHASES)] | None = None
    status: Annotated[str, Choice.of(vocab.STATUSES)] = "active"
    place: PlaceInput | None = None
    founded: Annotated[date, IsoDate()] | None = Field(default=None, description="Not in the future.")
    goals: Annotated[str, Plain(5000)] | None = None
    reason_for_starting: Annotated[str, Plain(5000)] | None = None
    open_questions: Annotated[tuple[Annotated[str, Plain(1000)], ...],
                              Field(max_length=50)] = ()
    website: Url | None = None
    contact: Text | None = None
    networks: TextList = ()
    partners: TextList = ()
    members_count: Annotated[int, Strict(), Field(ge=0, le=10_000_000)] | None = None
    last_confirmed: Annotated[date, IsoDate()] | None = None
    avatar: Url | None = Field(
        default=None, description="The initiative's picture (logo): the `url` of an image "
        "uploaded to this node with `POST /api/attachments` (PNG, JPEG, GIF or WebP, at most "
        "`uploads.avatar_max_bytes`); any other URL is refused (422 `unknown_attachment`, "
        "`not_an_image`, `too_large`). Published as the actor's `icon`; null removes it.")


# --- knowledge items, one model per kind ----------------------------------------------------------


class _Item(InputModel):
    """What every kind of item has."""

    title: Annotated[str, Plain(300)] = Field(description=PLAIN_TEXT)
    content: Annotated[str, Markdown(100_000)]
    initiative: Annotated[str, ActorRef()] | None = Field(
        default=None, description="Author: the handle or actor IRI of a local initiative; absent means "
                          "the node actor.")
    summary: Annotated[str, Plain(500)] | None = None
    themes: ThemeList = ()
    language: Annotated[str, LANGUAGE] = Field(default="nl", examples=["nl", "fy-NL", "en"])
    license: Annotated[str, Plain(100)] = "CC-BY-4.0"
    place: PlaceInput | None = None


class StoryInput(_Item):
    kind: Literal["story"]


class _WithAttachments(_Item):
    attachments: Annotated[tuple[AttachmentInput, ...], Field(max_length=20)] = ()


class GuideInput(_WithAttachments):
    kind: Literal["guide"]


class TemplateInput(_WithAttachments):
    kind: Literal["template"]


class QuestionInput(_Item):
    kind: Literal["question"]
    question_category: Annotated[str, Choice.of(vocab.QUESTION_CATEGORIES)] = "content"


class AnswerInput(_Item):
    kind: Literal["answer"]
    title: Annotated[str, Plain(300)] | None = Field(default=None, description=PLAIN_TEXT)  # type: ignore[assignment]
    in_reply_to: Url = Field(description="The question's IRI.")


class BottleneckInput(_Item):
    kind: Literal["bottleneck"]
    regulation: Annotated[str, Plain(300)] | None = Field(
        default=None, description="The regulation concerned.")
    regulation_area: Annotated[str, Choice.of(vocab.REGULATION_AREAS)] | None = Field(
        default=None, description="The area of regulation (docs/bottlenecks.md).")
    bottleneck_status: Annotated[str, Choice.of(BOTTLENECK_STATUSES)] = Field(
        default="open", description="Set by the bottleneck's own editors: open, raised (taken up "
        "in a lobby), resolved, rejected.")
    bottleneck_outcome: Annotated[str, Plain(1000)] | None = Field(
        default=None, description="A short outcome text that goes with the status.")


class EventInput(_Item):
    kind: Literal["event"]
    start_time: Annotated[datetime, IsoDateTime()] = Field(description="With a UTC offset.")
    end_time: Annotated[datetime, IsoDateTime()] | None = Field(
        default=None, description="Not before start_time.")
    online: Annotated[bool, Strict()] = Field(
        default=False, description="Held online (a video call) rather than at its place.")


KIND_MODELS: dict[str, type[_Item]] = {
    "story": StoryInput, "guide": GuideInput, "template": TemplateInput,
    "question": QuestionInput, "answer": AnswerInput, "bottleneck": BottleneckInput,
    "event": EventInput,
}

ItemInput = (StoryInput | GuideInput | TemplateInput | QuestionInput | AnswerInput
             | BottleneckInput | EventInput)
"""A validated item of any kind (``kind`` tells which)."""


ITEM_ADAPTER: TypeAdapter[ItemInput] = TypeAdapter(Annotated[ItemInput, Field(discriminator="kind")])
ITEM_FIELDS = frozenset(name for model in KIND_MODELS.values() for name in model.model_fields)
ITEM_IMMUTABLE = frozenset({"kind", "initiative", "in_reply_to"})
INITIATIVE_IMMUTABLE = frozenset({"handle"})
# Patch-only fields: the question's owner marks one answer as accepted (``kk:acceptedAnswer``).
_PATCH_ONLY = {"question": frozenset({"accepted_answer"})}

for _model in KIND_MODELS.values():
    _model.foreign_fields = ITEM_FIELDS - set(_model.model_fields)


def item_input(**fields: Any) -> ItemInput:
    """Build an item of the kind ``fields["kind"]`` names from Python values (tests, import)."""
    return ITEM_ADAPTER.validate_python(fields)


def kind_fields(kind: str) -> tuple[tuple[str, Any], ...]:
    """The fields only items of ``kind`` have, each with its default (None when required)."""
    model = KIND_MODELS[kind]
    own = [(name, None if info.is_required() else info.get_default())
           for name, info in model.model_fields.items()
           if name not in _Item.model_fields and name != "kind"]
    return (*own, *((name, None) for name in sorted(_PATCH_ONLY.get(kind, ()))))


# --- patches, follows -----------------------------------------------------------------------------


class PatchModel(InputModel):
    """A partial update: every field optional; ``changes`` holds the ones actually sent."""

    nulls_clear: ClassVar[bool] = True
    immutable: ClassVar[frozenset[str]] = frozenset()
    # The create models whose fields this patch changes, by item kind ("" for initiatives).
    targets: ClassVar[dict[str, type[InputModel]]] = {}

    def changes(self, kind: str = "") -> dict[str, Any]:
        """``{field: value}`` of the fields sent; null becomes the field's default.

        Raises ``PydanticCustomError`` for a field the target (of ``kind``) lacks or requires.
        """
        target = self.targets[kind]
        out: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            spec = target.model_fields.get(name)
            if spec is None and name not in _PATCH_ONLY.get(kind, ()):
                if value is None:
                    continue  # null for a field the kind does not have: nothing to clear
                raise fail("field_not_for_kind", f"does not apply to a {kind}", name)
            if value is None and spec is not None:
                if spec.is_required():
                    raise fail("missing_field", "is required and cannot be cleared", name)
                value = spec.get_default()
            out[name] = value
        return out


def _optional_copies(models: list[type[BaseModel]], skip: frozenset[str]) -> dict[str, Any]:
    """The fields of ``models`` but ``skip``, each optional: what a patch of them takes."""
    out: dict[str, Any] = {}
    for model in models:
        for name, info in model.model_fields.items():
            if name not in skip and name not in out:
                out[name] = (info.rebuild_annotation() | None,
                             Field(default=None, description=info.description))
    return out


def _patch_model(name: str, doc: str, targets: dict[str, type[InputModel]],
                 immutable: frozenset[str], **extra: Any) -> type[PatchModel]:
    fields = {**_optional_copies(list(targets.values()), immutable), **extra}
    model = create_model(name, __base__=PatchModel, __doc__=doc, **fields)
    model.immutable = immutable
    model.targets = targets
    return model


InitiativePatch = _patch_model(
    "InitiativePatch", "Only the fields given change; null clears one; handle cannot change.",
    {"": InitiativeInput}, INITIATIVE_IMMUTABLE)
ItemPatch = _patch_model(
    "ItemPatch", "Only the fields given change; null clears one. kind, initiative and "
    "in_reply_to cannot change; fields of another kind are refused.",
    dict(KIND_MODELS), ITEM_IMMUTABLE,
    accepted_answer=(Url | None, Field(default=None, description="Questions only: an answer's IRI.")))


class FollowInput(InputModel):
    """Follow a node, initiative or theme, as the node or as a local initiative."""

    target: Annotated[str, Plain(MAX_URL)] = Field(description="Handle or actor URL.")
    as_: Annotated[str, Plain(200)] | None = Field(
        default=None, alias="as", description="Local initiative handle (default: the node).")


class EndorsementInput(InputModel):
    """An initiative endorses a bottleneck: "Wij lopen hier ook tegenaan"."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"item": "https://drenthe.example/items/7f3e9c", "as": "doarpshus-reduzum",
         "note": "Onze zorgcoöperatie betaalt ook vennootschapsbelasting."}]})

    item: Url = Field(description="The bottleneck's IRI (local, or a copy this node holds).")
    as_: Annotated[str, Plain(200)] = Field(
        alias="as", description="Handle of the local initiative that endorses it.")
    note: Annotated[str, Plain(1000)] | None = Field(
        default=None, description="Optional: how the initiative runs into it. " + PLAIN_TEXT)


class EndorsementWithdrawal(InputModel):
    """An initiative withdraws its endorsement of a bottleneck."""

    item: Url = Field(description="The bottleneck's IRI.")
    as_: Annotated[str, Plain(200)] = Field(alias="as", description="Handle of the initiative.")


FEED_KINDS = ("story", "guide", "template", "bottleneck")


class FeedInput(InputModel):
    """Subscribe an initiative to an RSS or Atom feed: its entries become items by it."""

    url: Url = Field(description="The feed's URL (RSS or Atom).")
    as_: Annotated[str, Plain(200)] = Field(
        alias="as", description="Handle of the local initiative the items are attributed to.")
    kind: Annotated[str, Choice.of(FEED_KINDS)] = Field(
        default="story", description="The kind of the items the entries become.")
    themes: ThemeList = ()


class AcceptInput(InputModel):
    """Import files: the answer (a row's ``ref``) that the question's author accepted."""

    question: Annotated[str, Ref()]
    answer: Annotated[str, Ref()]


@dataclass(frozen=True)
class Patch:
    """Changes to an initiative or item: only the fields given, already validated."""

    changes: dict[str, Any] = field(default_factory=dict)
