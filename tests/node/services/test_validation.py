"""Tests for node/services/validation.py: JSON bodies to the input models, or a reasoned error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from node.services.errors import BadRequestError, ValidationError
from node.services.inputs import (
    KIND_MODELS,
    AttachmentInput,
    EventInput,
    InitiativeInput,
    PlaceInput,
    item_input,
)
from node.services.validation import (
    parse_follow,
    parse_initiative,
    parse_initiative_patch,
    parse_item,
    parse_item_patch,
    parse_place,
)
from protocol import themes

TODAY = date(2025, 6, 1)
IRI = "https://fryslan.test/items/0190a1b2"

MINIMAL_ITEMS: dict[str, dict[str, Any]] = {
    "story": {"kind": "story", "title": "Ons dorpshuis", "content": "Het begon in 2015."},
    "guide": {"kind": "guide", "title": "Een coöperatie oprichten", "content": "Stap 1."},
    "template": {"kind": "template", "title": "Statuten", "content": "Artikel 1."},
    "question": {"kind": "question", "title": "Wie heeft ervaring?", "content": "Met een AED?"},
    "answer": {"kind": "answer", "content": "Ja, wij.", "in_reply_to": IRI},
    "bottleneck": {"kind": "bottleneck", "title": "Omgevingsvergunning", "content": "Te duur."},
    "event": {"kind": "event", "title": "Leerkring", "content": "Welkom.",
              "start_time": "2025-09-12T19:30:00+02:00"},
}


def initiative(**fields: Any) -> dict[str, Any]:
    return {"handle": "dorpsmolen-reduzum", "name": "Dorpsmolen Reduzum", **fields}


def item(kind: str = "story", **fields: Any) -> dict[str, Any]:
    return {**MINIMAL_ITEMS[kind], **fields}


def without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


def parse_initiative_on_day(raw: object) -> InitiativeInput:
    return parse_initiative(raw, today=TODAY)


def story_patch(raw: object) -> object:
    return parse_item_patch(raw, "story")


def question_patch(raw: object) -> object:
    return parse_item_patch(raw, "question")


def event_patch(raw: object) -> object:
    return parse_item_patch(raw, "event")


def initiative_patch(raw: object) -> object:
    return parse_initiative_patch(raw, today=TODAY)


LONG_URL = "https://dorp.nl/" + "a" * 2033

# (parser, body, reason, field)
BAD_INPUTS: list[tuple[Callable[[object], object], object, str, str]] = [
    # initiative: required fields and handle
    (parse_initiative_on_day, without(initiative(), "handle"), "missing_field", "handle"),
    (parse_initiative_on_day, without(initiative(), "name"), "missing_field", "name"),
    (parse_initiative_on_day, initiative(name=None), "missing_field", "name"),
    (parse_initiative_on_day, initiative(name="   "), "missing_field", "name"),
    (parse_initiative_on_day, initiative(handle="ab"), "bad_value", "handle"),
    (parse_initiative_on_day, initiative(handle="-molen"), "bad_value", "handle"),
    (parse_initiative_on_day, initiative(handle="molen-"), "bad_value", "handle"),
    (parse_initiative_on_day, initiative(handle="dorps molen"), "bad_value", "handle"),
    (parse_initiative_on_day, initiative(handle="dorps_molen"), "bad_value", "handle"),
    (parse_initiative_on_day, initiative(handle="admin"), "bad_value", "handle"),
    (parse_initiative_on_day, initiative(handle="well-known"), "bad_value", "handle"),
    (parse_initiative_on_day, initiative(handle="a" * 41), "too_long", "handle"),
    (parse_initiative_on_day, initiative(handle=12345), "bad_type", "handle"),
    # initiative: plain text
    (parse_initiative_on_day, initiative(name="x" * 201), "too_long", "name"),
    (parse_initiative_on_day, initiative(name="<b>Molen</b>"), "html_not_allowed", "name"),
    (parse_initiative_on_day, initiative(name="&lt;script&gt;"), "html_not_allowed", "name"),
    (parse_initiative_on_day, initiative(name=5), "bad_type", "name"),
    (parse_initiative_on_day, initiative(name="a\x00b"), "bad_value", "name"),
    (parse_initiative_on_day, initiative(summary=1.5), "bad_type", "summary"),
    (parse_initiative_on_day, initiative(summary="s" * 501), "too_long", "summary"),
    (parse_initiative_on_day, initiative(description="d" * 50_001), "too_long", "description"),
    (parse_initiative_on_day, initiative(goals="g" * 5001), "too_long", "goals"),
    (parse_initiative_on_day, initiative(reason_for_starting="<p>x</p>"), "html_not_allowed",
     "reason_for_starting"),
    (parse_initiative_on_day, initiative(contact='<a href="x">'), "html_not_allowed", "contact"),
    (parse_initiative_on_day, initiative(colour="blue"), "unknown_field", "colour"),
    # initiative: vocabularies
    (parse_initiative_on_day, initiative(legal_form="bv"), "bad_value", "legal_form"),
    (parse_initiative_on_day, initiative(phase="growing"), "bad_value", "phase"),
    (parse_initiative_on_day, initiative(status="archived"), "bad_value", "status"),
    (parse_initiative_on_day, initiative(status=["active"]), "bad_type", "status"),
    (parse_initiative_on_day, initiative(themes=["zorg"]), "unknown_theme", "themes[0]"),
    (parse_initiative_on_day, initiative(themes=["meals", "Meals"]), "unknown_theme", "themes[1]"),
    (parse_initiative_on_day, initiative(themes="meals"), "bad_type", "themes"),
    (parse_initiative_on_day, initiative(themes=[1]), "bad_type", "themes[0]"),
    (parse_initiative_on_day, initiative(themes=["meals"] * 21), "too_long", "themes"),
    # initiative: place
    (parse_initiative_on_day, initiative(place="Reduzum"), "bad_type", "place"),
    (parse_initiative_on_day, initiative(place={"street": "Dorpsstraat"}), "unknown_field",
     "place.street"),
    (parse_initiative_on_day, initiative(place={"latitude": 53.1}), "bad_coordinates",
     "place.longitude"),
    (parse_initiative_on_day, initiative(place={"longitude": 5.8}), "bad_coordinates",
     "place.latitude"),
    (parse_initiative_on_day, initiative(place={"latitude": 91, "longitude": 5}),
     "bad_coordinates", "place.latitude"),
    (parse_initiative_on_day, initiative(place={"latitude": 53, "longitude": -180.5}),
     "bad_coordinates", "place.longitude"),
    (parse_initiative_on_day, initiative(place={"latitude": float("nan"), "longitude": 5}),
     "bad_coordinates", "place.latitude"),
    (parse_initiative_on_day, initiative(place={"latitude": 53, "longitude": float("inf")}),
     "bad_coordinates", "place.longitude"),
    (parse_initiative_on_day, initiative(place={"latitude": "53.1", "longitude": 5}),
     "bad_coordinates", "place.latitude"),
    (parse_initiative_on_day, initiative(place={"latitude": True, "longitude": 5}),
     "bad_coordinates", "place.latitude"),
    (parse_initiative_on_day, initiative(place={"province_code": "PV19"}), "bad_value",
     "place.province_code"),
    (parse_initiative_on_day, initiative(place={"municipality_code": "GM12"}), "bad_value",
     "place.municipality_code"),
    (parse_initiative_on_day, initiative(place={"exact": "yes"}), "bad_type", "place.exact"),
    (parse_initiative_on_day, initiative(place={"name": "<i>Reduzum</i>"}), "html_not_allowed",
     "place.name"),
    # initiative: dates, numbers, URLs, lists
    (parse_initiative_on_day, initiative(founded="2025-06-02"), "bad_date", "founded"),
    (parse_initiative_on_day, initiative(founded="01-05-2019"), "bad_date", "founded"),
    (parse_initiative_on_day, initiative(founded="2019-02-30"), "bad_date", "founded"),
    (parse_initiative_on_day, initiative(founded="2019-05-01T10:00:00"), "bad_date", "founded"),
    (parse_initiative_on_day, initiative(founded=2019), "bad_type", "founded"),
    (parse_initiative_on_day, initiative(last_confirmed="2025-13-01"), "bad_date",
     "last_confirmed"),
    (parse_initiative_on_day, initiative(members_count=-1), "bad_value", "members_count"),
    (parse_initiative_on_day, initiative(members_count=10_000_001), "bad_value", "members_count"),
    (parse_initiative_on_day, initiative(members_count=True), "bad_type", "members_count"),
    (parse_initiative_on_day, initiative(members_count=3.0), "bad_type", "members_count"),
    (parse_initiative_on_day, initiative(members_count="12"), "bad_type", "members_count"),
    (parse_initiative_on_day, initiative(website="ftp://dorp.nl"), "bad_value", "website"),
    (parse_initiative_on_day, initiative(website="dorp.nl"), "bad_value", "website"),
    (parse_initiative_on_day, initiative(website="https://wie:geheim@dorp.nl"), "bad_value",
     "website"),
    (parse_initiative_on_day, initiative(website="https://dorp.nl/a b"), "bad_value", "website"),
    (parse_initiative_on_day, initiative(website="https://dorp.nl:99999/"), "bad_value", "website"),
    (parse_initiative_on_day, initiative(website="https://[::1/"), "bad_value", "website"),
    (parse_initiative_on_day, initiative(website="javascript:alert(1)"), "bad_value", "website"),
    (parse_initiative_on_day, initiative(website=LONG_URL), "too_long", "website"),
    (parse_initiative_on_day, initiative(open_questions=["q"] * 51), "too_long", "open_questions"),
    (parse_initiative_on_day, initiative(open_questions=["q" * 1001]), "too_long",
     "open_questions[0]"),
    (parse_initiative_on_day, initiative(networks=["a", 7]), "bad_type", "networks[1]"),
    (parse_initiative_on_day, initiative(partners=["p" * 201]), "too_long", "partners[0]"),
    # item: kind, title, content
    (parse_item, without(item(), "kind"), "missing_field", "kind"),
    (parse_item, {**item(), "kind": "poll"}, "bad_value", "kind"),
    (parse_item, without(item(), "content"), "missing_field", "content"),
    (parse_item, item(content=" \n "), "missing_field", "content"),
    (parse_item, item(content="c" * 100_001), "too_long", "content"),
    (parse_item, item(content=["c"]), "bad_type", "content"),
    (parse_item, without(item(), "title"), "missing_field", "title"),
    (parse_item, without(item("question"), "title"), "missing_field", "title"),
    (parse_item, item(title="t" * 301), "too_long", "title"),
    (parse_item, item(title="Over <script>"), "html_not_allowed", "title"),
    (parse_item, item(summary="<br>"), "html_not_allowed", "summary"),
    (parse_item, item(themes=["energie"]), "unknown_theme", "themes[0]"),
    (parse_item, item(ref="story-1"), "unknown_field", "ref"),
    (parse_item, item(accepted_answer=IRI), "unknown_field", "accepted_answer"),
    (parse_item, item(initiative="Niet Een Handle!"), "bad_value", "initiative"),
    (parse_item, item(initiative="ftp://dorp.nl/actors/molen"), "bad_value", "initiative"),
    (parse_item, item(language="Dutch"), "bad_value", "language"),
    (parse_item, item(language="n"), "bad_value", "language"),
    (parse_item, item(license="l" * 101), "too_long", "license"),
    # item: fields of other kinds
    (parse_item, item(in_reply_to=IRI), "field_not_for_kind", "in_reply_to"),
    (parse_item, item(start_time="2025-09-12T19:30:00+02:00"), "field_not_for_kind",
     "start_time"),
    (parse_item, item(regulation="Omgevingswet"), "field_not_for_kind", "regulation"),
    (parse_item, item(attachments=[]), "field_not_for_kind", "attachments"),
    (parse_item, item(question_category="ethical"), "field_not_for_kind", "question_category"),
    (parse_item, item("question", bottleneck_status="open"), "field_not_for_kind",
     "bottleneck_status"),
    (parse_item, item("event", end_time=None, attachments=[]), "field_not_for_kind",
     "attachments"),
    # item: kind-specific values
    (parse_item, without(item("answer"), "in_reply_to"), "missing_field", "in_reply_to"),
    (parse_item, item("answer", in_reply_to="items/1"), "bad_value", "in_reply_to"),
    (parse_item, item("question", question_category="funny"), "bad_value", "question_category"),
    (parse_item, item("bottleneck", bottleneck_status="closed"), "bad_value", "bottleneck_status"),
    (parse_item, item("bottleneck", regulation="<b>Wet</b>"), "html_not_allowed", "regulation"),
    (parse_item, without(item("event"), "start_time"), "missing_field", "start_time"),
    (parse_item, item("event", start_time="2025-09-12T19:30:00"), "bad_date", "start_time"),
    (parse_item, item("event", start_time="2025-09-12"), "bad_date", "start_time"),
    (parse_item, item("event", start_time="12-09-2025 19:30+02:00"), "bad_date", "start_time"),
    (parse_item, item("event", start_time=1757698200), "bad_type", "start_time"),
    (parse_item, item("event", end_time="2025-09-12T19:00:00+02:00"), "bad_value", "end_time"),
    (parse_item, item("template", attachments=[{}]), "missing_field", "attachments[0].url"),
    (parse_item, item("template", attachments=[{"url": "javascript:alert(1)"}]), "bad_value",
     "attachments[0].url"),
    (parse_item, item("template", attachments=[{"url": IRI, "media_type": "pdf"}]), "bad_value",
     "attachments[0].media_type"),
    (parse_item, item("template", attachments=[{"url": IRI, "size": 3}]), "unknown_field",
     "attachments[0].size"),
    (parse_item, item("template", attachments=[IRI]), "bad_type", "attachments[0]"),
    (parse_item, item("template", attachments=[{"url": IRI}] * 21), "too_long", "attachments"),
    # patches
    (initiative_patch, {"handle": "nieuwe-naam"}, "immutable_field", "handle"),
    (initiative_patch, {"name": None}, "missing_field", "name"),
    (initiative_patch, {"founded": "2030-01-01"}, "bad_date", "founded"),
    (initiative_patch, {"rating": 5}, "unknown_field", "rating"),
    (story_patch, {"kind": "guide"}, "immutable_field", "kind"),
    (story_patch, {"kind": "story"}, "immutable_field", "kind"),
    (story_patch, {"initiative": "andere-molen"}, "immutable_field", "initiative"),
    (story_patch, {"in_reply_to": IRI}, "immutable_field", "in_reply_to"),
    (story_patch, {"content": None}, "missing_field", "content"),
    (story_patch, {"title": None}, "missing_field", "title"),
    (story_patch, {"title": "x" * 301}, "too_long", "title"),
    (story_patch, {"accepted_answer": IRI}, "field_not_for_kind", "accepted_answer"),
    (story_patch, {"regulation": "Omgevingswet"}, "field_not_for_kind", "regulation"),
    (question_patch, {"accepted_answer": "antwoord-1"}, "bad_value", "accepted_answer"),
    (event_patch, {"start_time": None}, "missing_field", "start_time"),
    (event_patch, {"start_time": "2025-09-12T20:00:00Z", "end_time": "2025-09-12T19:00:00Z"},
     "bad_value", "end_time"),
]


@pytest.mark.parametrize(("parse", "body", "reason", "field"), BAD_INPUTS)
def test_bad_input_is_rejected_with_reason_and_field(
        parse: Callable[[object], object], body: object, reason: str, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse(body)
    assert (info.value.reason, info.value.field) == (reason, field)
    assert field in info.value.detail
    assert info.value.status == 422


@pytest.mark.parametrize("parse", [parse_initiative, parse_initiative_patch, parse_item,
                                   story_patch])
@pytest.mark.parametrize("body", [[], "tekst", None, 3, [{"kind": "story"}]])
def test_body_that_is_not_an_object_is_bad_json(parse: Callable[[object], object],
                                                body: object) -> None:
    with pytest.raises(BadRequestError) as info:
        parse(body)
    assert info.value.reason == "bad_json"
    assert info.value.status == 400


def test_item_patch_for_an_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse_item_patch({}, "poll")


# --- initiatives -------------------------------------------------------------------------------


def test_minimal_initiative_gets_defaults() -> None:
    assert parse_initiative(initiative(), today=TODAY) == InitiativeInput(
        handle="dorpsmolen-reduzum", name="Dorpsmolen Reduzum")


def test_full_initiative_is_parsed() -> None:
    body = initiative(
        summary="Een molen van en voor het dorp.", description="# Geschiedenis\n\n*1850*",
        legal_form="cooperative", themes=["energy-generation", "meeting"], phase="mature",
        status="on-hold",
        place={"name": "Reduzum", "latitude": 53.1234, "longitude": 5.7891,
               "province_code": "PV21", "municipality_code": "GM0080"},
        founded="2015-03-14", goals="Stroom voor het dorp.", reason_for_starting="Windkracht.",
        open_questions=["Hoe financieren we onderhoud?"], website="https://dorpsmolen.example/",
        contact="info@dorpsmolen.example", networks=["Energie Samen"], partners=["Provincie"],
        members_count=212, last_confirmed="2025-05-31")
    assert parse_initiative(body, today=TODAY) == InitiativeInput(
        handle="dorpsmolen-reduzum", name="Dorpsmolen Reduzum",
        summary="Een molen van en voor het dorp.", description="# Geschiedenis\n\n*1850*",
        legal_form="cooperative", themes=("energy-generation", "meeting"), phase="mature",
        status="on-hold",
        place=PlaceInput(name="Reduzum", latitude=53.12, longitude=5.79, province_code="PV21",
                         municipality_code="GM0080"),
        founded=date(2015, 3, 14), goals="Stroom voor het dorp.", reason_for_starting="Windkracht.",
        open_questions=("Hoe financieren we onderhoud?",), website="https://dorpsmolen.example/",
        contact="info@dorpsmolen.example", networks=("Energie Samen",), partners=("Provincie",),
        members_count=212, last_confirmed=date(2025, 5, 31))


def test_handle_is_lower_cased() -> None:
    assert parse_initiative(initiative(handle="Dorpsmolen-Reduzum"), today=TODAY).handle == \
        "dorpsmolen-reduzum"


def test_themes_are_deduplicated_in_first_seen_order() -> None:
    parsed = parse_initiative(initiative(themes=["meals", "broadband", "meals"]), today=TODAY)
    assert parsed.themes == ("meals", "broadband")


def test_plain_text_is_stripped_and_nfc_normalised() -> None:
    parsed = parse_initiative(initiative(name="  Frysla\u0302n  "), today=TODAY)
    assert parsed.name == "Fryslân"


def test_blank_optional_text_counts_as_absent() -> None:
    assert parse_initiative(initiative(summary="  ", contact=""), today=TODAY).summary is None


def test_blank_entries_of_text_lists_are_dropped() -> None:
    parsed = parse_initiative(initiative(open_questions=["", "Wie helpt?", "  "]), today=TODAY)
    assert parsed.open_questions == ("Wie helpt?",)


def test_null_optional_fields_count_as_absent() -> None:
    parsed = parse_initiative(initiative(status=None, themes=None, place=None), today=TODAY)
    assert (parsed.status, parsed.themes, parsed.place) == ("active", (), None)


def test_founded_today_is_accepted() -> None:
    assert parse_initiative(initiative(founded="2025-06-01"), today=TODAY).founded == TODAY


def test_founded_defaults_today_to_the_current_date() -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    with pytest.raises(ValidationError) as info:
        parse_initiative(initiative(founded=tomorrow))
    assert info.value.reason == "bad_date"


def test_website_with_port_path_and_query_is_accepted() -> None:
    url = "https://Dorp.example:8443/over-ons?taal=nl#contact"
    assert parse_initiative(initiative(website=url), today=TODAY).website == url


# --- places ------------------------------------------------------------------------------------


def test_place_coordinates_default_to_village_precision() -> None:
    place = parse_place({"latitude": 52.987654, "longitude": 6.561234}, "place")
    assert (place.latitude, place.longitude, place.exact) == (52.99, 6.56, False)


def test_exact_place_keeps_six_decimals() -> None:
    place = parse_place({"latitude": 52.98765432, "longitude": 6.5612341, "exact": True}, "place")
    assert (place.latitude, place.longitude, place.exact) == (52.987654, 6.561234, True)


def test_place_accepts_integer_coordinates() -> None:
    assert parse_place({"latitude": 53, "longitude": 6}, "place").latitude == 53.0


def test_place_codes_are_upper_cased() -> None:
    place = parse_place({"province_code": "pv22", "municipality_code": "gm1680"}, "place")
    assert (place.province_code, place.municipality_code) == ("PV22", "GM1680")


def test_place_errors_name_the_given_field_prefix() -> None:
    with pytest.raises(ValidationError) as info:
        parse_place({"latitude": 100, "longitude": 6}, "location")
    assert info.value.field == "location.latitude"


# --- items -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(MINIMAL_ITEMS))
def test_minimal_item_of_each_kind_is_accepted_with_defaults(kind: str) -> None:
    parsed = parse_item(MINIMAL_ITEMS[kind])
    assert parsed.kind == kind
    assert (parsed.language, parsed.license, parsed.themes) == ("nl", "CC-BY-4.0", ())
    assert getattr(parsed, "question_category", None) == ("content" if kind == "question" else None)
    assert getattr(parsed, "bottleneck_status", None) == ("open" if kind == "bottleneck" else None)


COMMON = {"initiative": "dorpsmolen-reduzum", "summary": "Kort.", "themes": ["meals"],
          "language": "fy-NL", "license": "CC0-1.0",
          "place": {"name": "Reduzum", "latitude": 53.1234, "longitude": 5.7891}}
FULL_ITEMS: dict[str, dict[str, Any]] = {
    "story": {},
    "guide": {"attachments": [{"url": "https://dorp.nl/stappenplan.pdf"}]},
    "template": {"attachments": [{"url": "https://dorp.nl/statuten.odt", "name": "Statuten",
                                  "media_type": "application/vnd.oasis.opendocument.text"}]},
    "question": {"question_category": "organisational"},
    "answer": {"title": "Ons antwoord"},
    "bottleneck": {"regulation": "Omgevingswet art. 5.1", "bottleneck_status": "raised"},
    "event": {"end_time": "2025-09-12T21:30:00+02:00"},
}


@pytest.mark.parametrize("kind", sorted(FULL_ITEMS))
def test_full_item_of_each_kind_is_parsed(kind: str) -> None:
    parsed = parse_item({**MINIMAL_ITEMS[kind], **COMMON, **FULL_ITEMS[kind]})
    assert (parsed.initiative, parsed.summary, parsed.themes) == (
        "dorpsmolen-reduzum", "Kort.", ("meals",))
    assert (parsed.language, parsed.license) == ("fy-NL", "CC0-1.0")
    assert parsed.place == PlaceInput(name="Reduzum", latitude=53.12, longitude=5.79)


def test_full_template_keeps_its_attachments() -> None:
    parsed = parse_item({**MINIMAL_ITEMS["template"], **FULL_ITEMS["template"]})
    assert parsed.attachments == (AttachmentInput(
        url="https://dorp.nl/statuten.odt", name="Statuten",
        media_type="application/vnd.oasis.opendocument.text"),)


def test_full_bottleneck_keeps_regulation_and_status() -> None:
    parsed = parse_item({**MINIMAL_ITEMS["bottleneck"], **FULL_ITEMS["bottleneck"]})
    assert (parsed.regulation, parsed.bottleneck_status) == ("Omgevingswet art. 5.1", "raised")


def test_event_times_keep_their_offsets() -> None:
    parsed = parse_item({**MINIMAL_ITEMS["event"], **FULL_ITEMS["event"]})
    cest = timezone(timedelta(hours=2))
    assert parsed.start_time == datetime(2025, 9, 12, 19, 30, tzinfo=cest)
    assert parsed.end_time == datetime(2025, 9, 12, 21, 30, tzinfo=cest)
    assert parsed.start_time.utcoffset() == timedelta(hours=2)


def test_event_time_in_utc_with_z_is_accepted() -> None:
    parsed = parse_item(item("event", start_time="2025-09-12T17:30:00Z"))
    assert parsed.start_time == datetime(2025, 9, 12, 17, 30, tzinfo=UTC)


def test_event_may_end_when_it_starts() -> None:
    start = MINIMAL_ITEMS["event"]["start_time"]
    assert parse_item(item("event", end_time=start)).end_time == parse_item(item("event")).start_time


def test_answer_keeps_in_reply_to_and_has_no_title() -> None:
    parsed = parse_item(MINIMAL_ITEMS["answer"])
    assert (parsed.in_reply_to, parsed.title) == (IRI, None)


def test_initiative_may_be_an_actor_iri() -> None:
    iri = "https://drenthe.test/actors/dorpsmolen"
    assert parse_item(item(initiative=iri)).initiative == iri


def test_markdown_content_is_kept_as_written() -> None:
    content = "    code block\n\n<b>tekst</b> & *nadruk*\n"
    assert parse_item(item(content=content)).content == content


def test_null_for_a_field_of_another_kind_counts_as_absent() -> None:
    assert getattr(parse_item(item(in_reply_to=None)), "in_reply_to", None) is None


def test_language_primary_subtag_is_lower_cased() -> None:
    assert parse_item(item(language="NL-be")).language == "nl-be"


def test_every_item_kind_has_its_model() -> None:
    assert tuple(KIND_MODELS) == tuple(themes.ITEM_KINDS) == tuple(MINIMAL_ITEMS)


@pytest.mark.parametrize("kind", sorted(MINIMAL_ITEMS))
def test_parsed_item_is_the_model_of_its_kind(kind: str) -> None:
    assert isinstance(parse_item(MINIMAL_ITEMS[kind]), KIND_MODELS[kind])


def test_every_failure_is_listed_first_unknown_fields() -> None:
    with pytest.raises(ValidationError) as info:
        parse_item(item(title="<b>x</b>", summary="s" * 501, colour="blue"))
    assert [(e.reason, e.field) for e in info.value.errors] == [
        ("unknown_field", "colour"), ("html_not_allowed", "title"), ("too_long", "summary")]
    assert (info.value.reason, info.value.field) == ("unknown_field", "colour")


def test_item_input_builds_the_model_of_its_kind_from_python_values() -> None:
    start = datetime(2025, 9, 12, 19, 30, tzinfo=UTC)
    event = item_input(kind="event", title="Leerkring", content="Welkom.", start_time=start,
                       themes=("meals",), in_reply_to=None)
    assert isinstance(event, EventInput)
    assert (event.start_time, event.themes) == (start, ("meals",))


def test_follow_takes_a_target_and_an_optional_initiative() -> None:
    follow = parse_follow({"target": " dorpshuis@drenthe.test ", "as": "ried-reduzum"})
    assert (follow.target, follow.as_) == ("dorpshuis@drenthe.test", "ried-reduzum")
    with pytest.raises(ValidationError) as info:
        parse_follow({"as": "ried-reduzum"})
    assert (info.value.reason, info.value.field) == ("missing_field", "target")


# --- patches -----------------------------------------------------------------------------------


def test_patch_holds_only_the_given_fields() -> None:
    patch = parse_initiative_patch({"phase": "active", "members_count": 3}, today=TODAY)
    assert patch.changes == {"phase": "active", "members_count": 3}


def test_empty_patch_changes_nothing() -> None:
    assert parse_item_patch({}, "story").changes == {}


def test_patch_null_clears_optional_fields_to_their_defaults() -> None:
    patch = parse_initiative_patch({"summary": None, "themes": None, "status": None,
                                    "place": None}, today=TODAY)
    assert patch.changes == {"summary": None, "themes": (), "status": "active", "place": None}


def test_patch_values_are_parsed() -> None:
    patch = parse_initiative_patch({"founded": "2020-01-02", "themes": ["pool", "pool"],
                                    "place": {"latitude": 52.123, "longitude": 4.987}},
                                   today=TODAY)
    assert patch.changes == {"founded": date(2020, 1, 2), "themes": ("pool",),
                             "place": PlaceInput(latitude=52.12, longitude=4.99)}


def test_question_patch_may_set_and_clear_accepted_answer() -> None:
    assert parse_item_patch({"accepted_answer": IRI}, "question").changes == {"accepted_answer": IRI}
    assert parse_item_patch({"accepted_answer": None}, "question").changes == {
        "accepted_answer": None}


def test_answer_patch_may_clear_the_title() -> None:
    assert parse_item_patch({"title": None}, "answer").changes == {"title": None}


def test_event_patch_parses_times() -> None:
    patch = parse_item_patch({"end_time": "2025-09-12T22:00:00+02:00"}, "event")
    assert patch.changes["end_time"] == datetime(2025, 9, 12, 20, 0, tzinfo=UTC)


def test_bottleneck_patch_null_status_resets_to_open() -> None:
    assert parse_item_patch({"bottleneck_status": None}, "bottleneck").changes == {
        "bottleneck_status": "open"}


def test_patch_null_for_a_field_of_another_kind_changes_nothing() -> None:
    assert parse_item_patch({"regulation": None}, "story").changes == {}
