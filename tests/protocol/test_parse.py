"""protocol.parse: real-world AS2 shapes become typed values; malformed ones raise stable reasons."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import protocol.parse as parse_module
from protocol.actors import actor_keys
from protocol.errors import DocumentError, ProtocolError
from protocol.jsonlimits import load_json
from protocol.parse import (
    Activity,
    Actor,
    ASObject,
    Tombstone,
    is_iri,
    parse_activity,
    parse_actor,
    parse_datetime,
    parse_document,
    parse_envelope,
    parse_object,
)
from protocol.vocab import ACTIVITY_TYPES, ACTOR_TYPES, OBJECT_TYPES, PUBLIC

DATA = Path(__file__).parent.parent / "data" / "as2"
SAMPLES = sorted(DATA.glob("*.json"))

NOTE_ID = "https://a.example/notes/1"
ALICE = "https://a.example/users/alice"
KK_MEDIA = "https://kennis.example/media/"


def sample(name: str) -> dict[str, Any]:
    return load_json((DATA / name).read_bytes())


def note(**extra: Any) -> dict[str, Any]:
    return {"id": NOTE_ID, "type": "Note", "attributedTo": ALICE, "content": "hoi", **extra}


def create(obj: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "https://a.example/activities/1",
        "type": "Create",
        "actor": ALICE,
        "object": note() if obj is None else obj,
        **extra,
    }


def actor(**extra: Any) -> dict[str, Any]:
    return {"id": ALICE, "type": "Person", "inbox": ALICE + "/inbox", **extra}


def reason(call: Any, raw: Any, **kwargs: Any) -> str:
    with pytest.raises(DocumentError) as info:
        call(raw, **kwargs)
    return info.value.reason


# --- samples --------------------------------------------------------------------------------

def expected_class(type_: str) -> type | tuple[type, ...]:
    if type_ in ACTIVITY_TYPES:
        return Activity
    return Actor if type_ in ACTOR_TYPES else (ASObject, Tombstone)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_sample_parses(path: Path) -> None:
    raw = load_json(path.read_bytes())
    document = parse_document(raw)
    assert isinstance(document, expected_class(raw["type"]))
    assert document.id == raw["id"]
    assert document.raw is raw


def test_samples_cover_the_shapes_of_the_brief() -> None:
    types = set()
    for path in SAMPLES:
        raw = load_json(path.read_bytes())
        embedded = raw.get("object")
        types |= {raw["type"], embedded.get("type") if isinstance(embedded, dict) else None}
    assert types >= ACTIVITY_TYPES
    assert {"Question", "Event", "Article", "Document", "Note", "Tombstone"} <= types
    assert types >= ACTOR_TYPES


def test_follow_has_the_followee_as_object() -> None:
    follow = parse_activity(sample("mastodon_follow.json"))
    assert (follow.type, follow.actor) == ("Follow", "https://mastodon.example/users/anneke")
    assert follow.object == "https://kennis.example/actors/drenthe"


def test_accept_embeds_the_follow_it_accepts() -> None:
    accept = parse_activity(sample("mastodon_accept_follow.json"))
    assert isinstance(accept.object, Activity)
    assert accept.object.type == "Follow"
    assert accept.object_id == "https://kennis.example/activities/0b7e6c2a-follow"
    assert accept.object.object == accept.actor


def test_gotosocial_accept_with_string_to_is_addressed() -> None:
    accept = parse_activity(sample("gotosocial_accept_follow.json"))
    assert accept.to == ("https://kennis.example/actors/dorpsmolen-reduzum",)


def test_undo_embeds_the_follow_it_undoes() -> None:
    undo = parse_activity(sample("pleroma_undo_follow.json"))
    assert isinstance(undo.object, Activity)
    assert undo.object.type == "Follow"
    assert undo.published == datetime(2024, 5, 3, 9, 41, 12, 508917, tzinfo=UTC)


def test_mastodon_note_has_mentions_hashtags_and_attachments() -> None:
    activity = parse_activity(sample("mastodon_create_note.json"))
    obj = activity.object
    assert isinstance(obj, ASObject)
    assert [t.type for t in obj.tags] == ["Mention", "Hashtag", "Emoji"]
    assert obj.tags[0].href == "https://kennis.example/actors/drenthe"
    assert obj.tags[1].name == "#zorg"
    assert obj.attachments[0].media_type == "image/jpeg"
    assert obj.attachments[0].name == "De buurtbus voor het dorpshuis"
    assert obj.content_map["nl"] == obj.content
    assert obj.to == (PUBLIC,)
    assert obj.url == "https://mastodon.example/@anneke/112358132134"
    assert obj.summary is None and obj.in_reply_to is None


def test_misskey_note_keeps_its_markdown_source() -> None:
    obj = parse_activity(sample("misskey_create_note.json")).object
    assert isinstance(obj, ASObject)
    assert obj.source is not None
    assert obj.source.media_type == "text/x.misskeymarkdown"
    assert obj.published == datetime(2024, 5, 2, 8, 15, 30, 123000, tzinfo=UTC)


def test_pleroma_reply_points_at_our_object() -> None:
    obj = parse_activity(sample("pleroma_create_note.json")).object
    assert isinstance(obj, ASObject)
    assert obj.in_reply_to == "https://kennis.example/objects/statuten-dorpsmolen"
    assert obj.summary == ""


def test_update_person_embeds_the_actor_with_its_key() -> None:
    update = parse_activity(sample("mastodon_update_person.json"))
    person = update.object
    assert isinstance(person, Actor)
    (key,) = actor_keys(person.raw)
    assert (key.key_id, key.controller) == ("https://mastodon.example/users/anneke#main-key",
                                            person.id)
    assert person.shared_inbox == "https://mastodon.example/inbox"


def test_delete_embeds_a_tombstone() -> None:
    delete = parse_activity(sample("kk_delete_tombstone.json"))
    assert delete.object == Tombstone(
        "https://kennis.example/objects/oude-handleiding",
        "Document",
        datetime(2024, 6, 1, 9, tzinfo=UTC),
        {},
    )
    assert delete.has_proof


def test_delete_of_an_account_names_it_by_iri() -> None:
    delete = parse_activity(sample("mastodon_delete_actor.json"))
    assert delete.object == delete.actor == "https://mastodon.example/users/vertrokken"


def test_announce_by_iri() -> None:
    announce = parse_activity(sample("mastodon_announce.json"))
    assert announce.object == "https://kennis.example/objects/verhaal-dorpsmolen"


def test_announce_embedding_a_signed_article() -> None:
    obj = parse_activity(sample("kk_announce_embedded_article.json")).object
    assert isinstance(obj, ASObject)
    assert (obj.type, obj.kind, obj.version, obj.has_proof) == ("Article", "story", 3, True)


def test_flag_reports_several_objects() -> None:
    flag = parse_activity(sample("mastodon_flag.json"))
    assert flag.objects == (
        "https://kennis.example/actors/dorpsmolen-reduzum",
        "https://kennis.example/objects/verhaal-dorpsmolen",
    )
    assert flag.object == flag.objects[0]
    assert flag.content == "Dit is reclame, geen kennis."


def test_poll_is_a_question_with_options() -> None:
    poll = parse_activity(sample("mastodon_create_question_poll.json")).object
    assert isinstance(poll, ASObject)
    assert poll.type == "Question" and poll.is_poll
    assert poll.poll_options == ("dinsdag", "donderdag")


def test_our_question_is_a_question_without_options() -> None:
    question = parse_object(sample("kk_question.json"))
    assert isinstance(question, ASObject)
    assert question.type == "Question" and not question.is_poll
    assert (question.kind, question.version) == ("question", 2)
    assert question.published == datetime(2024, 4, 20, 8, tzinfo=UTC)
    assert question.published.utcoffset() == timedelta(hours=2)


def test_event_has_times_and_a_place() -> None:
    event = parse_object(sample("kk_event.json"))
    assert isinstance(event, ASObject)
    assert event.start_time is not None and event.end_time is not None
    assert event.end_time - event.start_time == timedelta(hours=2)
    assert event.location is not None
    assert (event.location.latitude, event.location.longitude) == (52.9623, 6.9517)
    assert (event.location.province_code, event.location.municipality_code) == ("PV22", "GM1681")
    assert event.content_map.keys() == {"nl", "en"}


def test_url_list_prefers_the_html_link() -> None:
    article = parse_activity(sample("kk_create_article.json")).object
    assert isinstance(article, ASObject)
    assert article.url == "https://kennis.example/verhalen/verhaal-dorpsmolen"


def test_template_document_has_its_files() -> None:
    document = parse_object(sample("kk_document.json"))
    assert isinstance(document, ASObject)
    assert [a.media_type for a in document.attachments][:1] == ["application/pdf"]
    assert all((a.url or "").startswith(KK_MEDIA) for a in document.attachments)


def test_our_actor_publishes_both_keys() -> None:
    org = parse_actor(sample("kk_organization_actor.json"))
    assert org.type == "Organization"
    assert [k.key_id for k in actor_keys(org.raw)] == [org.id + "#main-key",
                                                       org.id + "#ed25519-key"]


def test_instance_actor_is_an_application() -> None:
    app = parse_actor(sample("mastodon_instance_actor.json"))
    assert app.type == "Application" and app.manually_approves_followers


def test_parsing_is_deterministic_and_frozen() -> None:
    first = parse_document(sample("mastodon_create_note.json"))
    assert first == parse_document(sample("mastodon_create_note.json"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.id = "https://evil.example/"  # type: ignore[misc]


# --- tolerance ------------------------------------------------------------------------------


def test_type_list_picks_the_first_known_type() -> None:
    obj = parse_object(note(type=["http://schema.org/Thing", "Article", "Note"]))
    assert isinstance(obj, ASObject) and obj.type == "Article"


def test_actor_given_as_an_embedded_object_is_its_id() -> None:
    assert parse_activity(create(actor={"id": ALICE, "type": "Person"})).actor == ALICE


def test_object_as_a_list_of_one_is_the_object() -> None:
    assert parse_activity(create(obj=[note()])).object_id == NOTE_ID


def test_typeless_object_with_an_id_is_a_reference() -> None:
    assert parse_activity(create(obj={"id": NOTE_ID})).object == NOTE_ID


@pytest.mark.parametrize(
    "context",
    [
        "https://www.w3.org/ns/activitystreams",
        ["https://www.w3.org/ns/activitystreams", {"toot": "http://joinmastodon.org/ns#"}],
        {"@vocab": "https://www.w3.org/ns/activitystreams"},
        ["https://www.w3.org/ns/activitystreams", None],
    ],
)
def test_context_in_any_shape_is_accepted(context: Any) -> None:
    assert parse_activity(create(**{"@context": context})).type == "Create"


def test_unknown_fields_and_nulls_are_ignored() -> None:
    obj = parse_object(note(summary=None, quoteUrl=None, _misskey_content="x", sensitive=False))
    assert isinstance(obj, ASObject) and obj.summary is None


def test_ld_signature_block_is_ignored() -> None:
    activity = parse_activity(create(signature={"type": "RsaSignature2017", "signatureValue": 5}))
    assert not activity.has_proof


@pytest.mark.parametrize("alias", ["as:Public", "Public", PUBLIC])
def test_public_aliases_become_the_public_iri(alias: str) -> None:
    assert parse_activity(create(to=alias, cc=[alias, PUBLIC])).to == (PUBLIC,)


def test_loopback_http_iris_are_accepted() -> None:
    assert parse_actor(actor(id="http://127.0.0.1:8123/actors/x")).id.startswith("http://127.")


def test_actor_type_without_inbox_is_an_object() -> None:
    partner = {"id": "https://a.example/partners/1", "type": "Organization", "name": "Kennisinstituut"}
    parsed = parse_document(partner)
    assert isinstance(parsed, ASObject) and parsed.type == "Organization"


def test_attributed_to_list_takes_the_first_actor() -> None:
    obj = parse_object(note(attributedTo=[{"id": ALICE, "type": "Person"}, "https://a.example/g"]))
    assert isinstance(obj, ASObject) and obj.attributed_to == ALICE


def test_empty_list_is_absent() -> None:
    obj = parse_object(note(inReplyTo=[], name=[]))
    assert isinstance(obj, ASObject) and obj.in_reply_to is None and obj.name is None


def test_bare_iri_tags_are_skipped_and_bare_iri_attachments_kept() -> None:
    obj = parse_object(note(tag=["https://a.example/tags/x"], attachment=["https://a.example/f.pdf"]))
    assert isinstance(obj, ASObject) and obj.tags == ()
    assert [(a.type, a.url) for a in obj.attachments] == [("Link", "https://a.example/f.pdf")]


def test_link_attachment_uses_its_href() -> None:
    obj = parse_object(note(attachment={"type": "Link", "href": "https://a.example/x"}))
    assert isinstance(obj, ASObject) and obj.attachments[0].url == "https://a.example/x"


@pytest.mark.parametrize(
    "keys",
    [{"publicKey": {"owner": ALICE, "publicKeyPem": "x"}}, {"publicKey": 5},
     {"assertionMethod": [{"id": ALICE + "#k", "type": "Multikey"}]}, {"assertionMethod": [5]}],
)
def test_an_actor_parses_whatever_its_key_entries_hold(keys: dict[str, Any]) -> None:
    # Which keys count is protocol.actors.actor_keys's one decision: these count for nothing.
    parsed = parse_actor(actor(**keys))
    assert parsed.id == ALICE and actor_keys(parsed.raw) == []


# --- refusals -------------------------------------------------------------------------------


def test_missing_id_is_refused() -> None:
    assert reason(parse_object, {"type": "Note"}) == "missing_id"


@pytest.mark.parametrize(
    "bad",
    [
        "/notes/1",
        "#main-key",
        "ftp://a.example/1",
        "urn:uuid:2f1f9a1e-7e1b-4c55-a1f0-0f7f7a0a0a0a",
        "https://a.example/with space",
        "https://a.example/tab\t",
        "https://alice@a.example/1",
        "https://a.example\\@b.example/",
        "https:///no-host",
        "https://a.example:99999/",
        "https//a.example/1",
        "",
        5,
        ["https://a.example/1"],
    ],
)
def test_bad_id_is_refused(bad: Any) -> None:
    assert reason(parse_object, note(id=bad)) == "bad_id"


def test_missing_type_is_refused() -> None:
    raw = note()
    del raw["type"]
    assert reason(parse_object, raw) == "missing_type"


@pytest.mark.parametrize("type_", ["EmojiReact", ["EmojiReact", "Add"], "Note"])
def test_unhandled_activity_type_is_refused(type_: Any) -> None:
    assert reason(parse_activity, create(type=type_)) == "unsupported_type"


def test_like_with_a_note_is_parsed_as_an_activity() -> None:
    like = parse_activity(create(type="Like", obj="https://b.example/items/7") | {
        "content": "Wij lopen hier ook tegenaan"})
    assert (like.type, like.object_id, like.content) == (
        "Like", "https://b.example/items/7", "Wij lopen hier ook tegenaan")


def test_embedded_object_of_unknown_type_is_refused() -> None:
    assert reason(parse_activity, create(obj={"id": NOTE_ID, "type": "ChatMessage"})) == (
        "unsupported_type"
    )


@pytest.mark.parametrize("type_", ["Like", ["EmojiReact", "Like"], "Create"])
def test_envelope_of_any_activity_type_is_read(type_: Any) -> None:
    envelope = parse_envelope(create(type=type_, obj="https://b.example/items/7"))
    first = type_[0] if isinstance(type_, list) else type_
    assert (envelope.id, envelope.type, envelope.actor) == (
        "https://a.example/activities/1", first, ALICE)


@pytest.mark.parametrize(("drop", "expected"), [("id", "missing_id"), ("type", "missing_type"),
                                                ("actor", "missing_field")])
def test_envelope_without_id_type_or_actor_is_refused(drop: str, expected: str) -> None:
    raw = create(type="Like")
    del raw[drop]
    assert reason(parse_envelope, raw) == expected


def test_envelope_with_two_actors_is_refused() -> None:
    assert reason(parse_envelope, create(type="Like", actor=[ALICE, ALICE + "2"])) == "bad_field"


def test_follow_without_object_is_refused() -> None:
    raw = {"id": "https://a.example/f/1", "type": "Follow", "actor": ALICE}
    assert reason(parse_activity, raw) == "missing_field"


def test_activity_without_actor_is_refused() -> None:
    raw = create()
    del raw["actor"]
    assert reason(parse_activity, raw) == "missing_field"


def test_actor_without_inbox_is_refused() -> None:
    raw = actor()
    del raw["inbox"]
    assert reason(parse_actor, raw) == "missing_field"


@pytest.mark.parametrize(
    ("call", "raw"),
    [
        (parse_object, note(published="yesterday")),
        (parse_object, note(published="2024-05-01T12:00:00")),  # naive
        (parse_object, note(published="2024-02-30T12:00:00Z")),
        (parse_object, note(published=1714564800)),
        (parse_object, note(content=5)),
        (parse_object, note(contentMap={"nl": 5})),
        (parse_object, note(version="3")),
        (parse_object, note(version=-1)),
        (parse_object, note(version=True)),
        (parse_object, note(location={"latitude": 91, "longitude": 5})),
        (parse_object, note(location={"latitude": 52, "longitude": float("nan")})),
        (parse_object, note(location={"latitude": True})),
        (parse_object, note(location={"provinceCode": "Drenthe"})),
        (parse_object, note(to=["not an iri"])),
        (parse_object, note(tag=[5])),
        (parse_object, note(inReplyTo={"type": "Note"})),
        (parse_object, note(type=["Note", 5])),
        (parse_object, note(source="plain text")),
        (parse_object, note(oneOf=["dinsdag"])),
        (parse_object, note(tag=[{"type": 5}])),
        (parse_object, note(attachment=[5])),
        (parse_object, note(url={"type": "Link"})),
        (parse_object, {"id": NOTE_ID, "type": "Tombstone", "formerType": 5}),
        (parse_object, {"id": NOTE_ID, "type": "Tombstone", "deleted": "2024"}),
        (parse_activity, ["not", "an", "object"]),
        (parse_activity, create(obj=[note(), note(id=NOTE_ID + "b")])),
        (parse_activity, create(actor=[ALICE, ALICE + "2"])),
        (parse_activity, create(obj=None, object=[None])),
        (parse_actor, actor(manuallyApprovesFollowers="yes")),
        (parse_actor, actor(endpoints={"sharedInbox": "/inbox"})),
        (parse_actor, actor(inbox="inbox")),
        (parse_actor, actor(**{"@context": 5})),
    ],
)
def test_wrong_shaped_field_is_refused(call: Any, raw: dict[str, Any]) -> None:
    assert reason(call, raw) == "bad_field"


@pytest.mark.parametrize("keyword", ["@graph", "@included", "@reverse"])
def test_hiding_keywords_are_forbidden(keyword: str) -> None:
    assert reason(parse_activity, create(**{keyword: []})) == "forbidden_keyword"


def test_hiding_keywords_in_an_embedded_object_are_forbidden() -> None:
    assert reason(parse_activity, create(obj=note(**{"@graph": []}))) == "forbidden_keyword"


def announces(depth: int) -> dict[str, Any]:
    raw: dict[str, Any] = note()
    for level in range(depth - 1):
        raw = {"id": f"https://a.example/a/{level}", "type": "Announce", "actor": ALICE, "object": raw}
    return raw


def test_embedding_up_to_max_depth_is_accepted() -> None:
    assert parse_activity(announces(8)).type == "Announce"


def test_embedding_deeper_than_max_depth_is_too_deep() -> None:
    assert reason(parse_activity, announces(9)) == "too_deep"
    assert reason(parse_activity, announces(3), max_depth=2) == "too_deep"
    assert reason(parse_activity, announces(2), max_depth=0) == "too_deep"


def test_ten_thousand_embedded_activities_are_too_deep_without_recursion_error() -> None:
    assert reason(parse_document, announces(10_000)) == "too_deep"


def test_changing_one_character_of_a_sample_id_is_refused() -> None:
    raw = sample("mastodon_follow.json")
    assert parse_activity(raw)
    mutated = copy.deepcopy(raw)
    mutated["id"] = raw["id"].replace(":", ";", 1)
    assert reason(parse_activity, mutated) == "bad_id"


# --- scalar helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01t12:00:00z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T14:00:00+02:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T06:30:00-05:30", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T12:00:00.123456789Z", datetime(2024, 5, 1, 12, 0, 0, 123456, UTC)),
    ],
)
def test_zoned_datetimes_parse_to_aware_datetimes(text: str, expected: datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is not None


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01T12:00:00",
        "2024-05-01",
        "2024-05-01 12:00:00Z",
        "2024-13-01T12:00:00Z",
        "2024-05-01T12:00:00+24:00",
        "2024-05-01T12:00:60Z",
        "２０２４-05-01T12:00:00Z",
        "2024-05-01T12:00:00Z ",
        "",
    ],
)
def test_naive_or_garbled_datetimes_do_not_parse(text: str) -> None:
    assert parse_datetime(text) is None


def test_is_iri_accepts_http_and_https_with_a_host() -> None:
    assert is_iri("https://a.example/users/alice#main-key")
    assert is_iri("http://127.0.0.1:8000/actors/x?page=1")
    assert is_iri("https://dörp.example/ü")


def test_is_iri_refuses_every_whitespace_and_control_character() -> None:
    refused = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000
               and (chr(c).isspace() or c < 0x20 or c == 0x7F or chr(c) == "\\")]
    assert len(refused) > 40
    for char in refused:
        assert not is_iri(f"https://a.example/x{char}y"), hex(ord(char))
    assert is_iri("https://a.example/x\u00a9y") and is_iri("https://a.example/x\U0001f600y")


def test_is_iri_splits_a_string_once_and_answers_alike_after() -> None:
    # Given: a verdict held per string (a document names the same IRIs again and again)
    iri, bad = "https://held.example/actors/a", "https://u@held.example/"
    before = parse_module._is_iri_text.cache_info().hits
    # When: asked twice each
    answers = [is_iri(iri), is_iri(bad), is_iri(iri), is_iri(bad)]
    # Then: the same answers, the second ones held; a non-string is never held
    assert answers == [True, False, True, False]
    assert parse_module._is_iri_text.cache_info().hits - before == 2
    assert not is_iri(42) and not is_iri(None)


# --- properties -----------------------------------------------------------------------------

IRIS = st.sampled_from(
    [ALICE, NOTE_ID, "http://127.0.0.1/x", "as:Public", "not an iri", "", "https://u@h.example/"]
)
TYPES = st.sampled_from(sorted(ACTIVITY_TYPES | ACTOR_TYPES | OBJECT_TYPES | {"Like", "Hashtag"}))
KEYS = st.sampled_from(
    [
        "id", "type", "actor", "object", "target", "to", "cc", "published", "inbox", "outbox",
        "publicKey", "owner", "publicKeyPem", "assertionMethod", "controller", "publicKeyMultibase",
        "endpoints", "sharedInbox", "tag", "attachment", "href", "url", "mediaType", "location",
        "latitude", "longitude", "provinceCode", "contentMap", "content", "source", "version",
        "kind", "oneOf", "anyOf", "name", "formerType", "deleted", "startTime", "attributedTo",
        "inReplyTo", "manuallyApprovesFollowers", "@context", "@graph", "proof",
    ]
) | st.text(max_size=6)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats()
    | st.text(max_size=12)
    | IRIS
    | TYPES
    | st.sampled_from(["2024-05-01T12:00:00Z", "2024-05-01T12:00:00", "Multikey"])
)
JSONISH = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=40,
)
DOCUMENTS = st.fixed_dictionaries(
    {},
    optional={
        "id": IRIS | JSONISH,
        "type": TYPES | st.lists(TYPES, max_size=2) | JSONISH,
        "actor": IRIS | JSONISH,
        "object": JSONISH,
        "inbox": IRIS,
        "to": JSONISH,
        "published": SCALARS,
    },
) | st.dictionaries(KEYS, JSONISH, max_size=8)
PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY_SETTINGS
@given(DOCUMENTS)
def test_parse_activity_raises_only_protocol_errors(raw: dict[str, Any]) -> None:
    with contextlib.suppress(ProtocolError):
        parse_activity(raw)


@PROPERTY_SETTINGS
@given(DOCUMENTS)
def test_parse_object_raises_only_protocol_errors(raw: dict[str, Any]) -> None:
    with contextlib.suppress(ProtocolError):
        parse_object(raw)


@PROPERTY_SETTINGS
@given(DOCUMENTS)
def test_parse_actor_raises_only_protocol_errors(raw: dict[str, Any]) -> None:
    with contextlib.suppress(ProtocolError):
        parse_actor(raw)


@PROPERTY_SETTINGS
@given(DOCUMENTS)
def test_parse_document_raises_only_protocol_errors(raw: dict[str, Any]) -> None:
    with contextlib.suppress(ProtocolError):
        parse_document(raw)
