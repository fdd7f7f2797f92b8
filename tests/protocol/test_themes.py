"""protocol.themes: the fixed theme scheme, hashtag tags both ways, SKOS, and the value lists."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest

from protocol import themes

DESIGN_SCHEME = {
    "care-wellbeing": [
        "meeting", "neighbour-help", "meals", "transport", "day-care", "housing-with-care",
        "dementia",
    ],
    "sustainability": [
        "energy-generation", "energy-saving", "green-space", "local-food", "sharing-repair",
        "local-economy", "mobility",
    ],
    "broadband": [],
    "facilities": ["shop", "pool", "library", "village-hall"],
    "housing": ["collective-commissioning"],
    "education": [],
}


def test_scheme_has_exactly_the_design_ids_and_hierarchy() -> None:
    top = [t.id for t in themes.all_themes() if t.broader is None]
    assert top == list(DESIGN_SCHEME)
    for parent, children in DESIGN_SCHEME.items():
        assert themes.narrower(parent) == children
        for child in children:
            assert themes.broader(child) == parent


def test_every_theme_has_dutch_and_english_labels_and_a_dutch_hashtag() -> None:
    for theme in themes.all_themes():
        assert theme.label.nl and theme.label.en
        assert re.fullmatch(r"[a-z0-9]+", theme.hashtag), theme.hashtag


def test_hashtags_are_unique() -> None:
    tags = [t.hashtag for t in themes.all_themes()]
    assert len(tags) == len(set(tags))


def test_known_hashtags() -> None:
    assert themes.hashtag("care-wellbeing") == "zorg"
    assert themes.hashtag("energy-generation") == "energie"
    assert themes.hashtag("broadband") == "glasvezel"


def test_concept_iri() -> None:
    assert themes.concept_iri("meals") == "https://kennisknoop.nl/themes/meals"


def test_unknown_theme() -> None:
    assert not themes.is_theme("knitting")
    assert not themes.is_theme(None)
    assert themes.is_theme("meals")
    with pytest.raises(KeyError):
        themes.get("knitting")


def test_build_tags_makes_hashtags_pointing_at_concept_iris() -> None:
    assert themes.build_tags(["care-wellbeing", "energy-generation", "care-wellbeing"]) == [
        {"type": "Hashtag", "href": "https://kennisknoop.nl/themes/care-wellbeing",
         "name": "#zorg"},
        {"type": "Hashtag", "href": "https://kennisknoop.nl/themes/energy-generation",
         "name": "#energie"},
    ]


def test_build_tags_refuses_unknown_ids() -> None:
    with pytest.raises(KeyError):
        themes.build_tags(["knitting"])


def test_parse_tags_round_trips_every_theme() -> None:
    ids = [t.id for t in themes.all_themes()]
    assert themes.parse_tags(themes.build_tags(ids)) == ids


def test_parse_tags_reads_mastodon_hashtags_case_insensitively() -> None:
    tags = [
        {"type": "Hashtag", "href": "https://mastodon.test/tags/zorg", "name": "#Zorg"},
        {"type": "Hashtag", "href": "https://mastodon.test/tags/glasvezel", "name": "#glasvezel"},
    ]
    assert themes.parse_tags(tags) == ["care-wellbeing", "broadband"]


def test_parse_tags_ignores_what_is_not_ours() -> None:
    tags = [
        {"type": "Mention", "href": "https://mastodon.test/users/zorg", "name": "@zorg"},
        {"type": "Hashtag", "name": "#breien"},
        {"type": "Hashtag", "href": "https://kennisknoop.nl/themes/knitting", "name": "#breien"},
        "https://elsewhere.test/themes/meals",
        42,
        None,
    ]
    assert themes.parse_tags(tags) == []


def test_parse_tags_accepts_a_single_tag_and_bare_concept_iris() -> None:
    assert themes.parse_tags({"type": "Hashtag", "name": "#energie"}) == ["energy-generation"]
    assert themes.parse_tags(["https://kennisknoop.nl/themes/pool"]) == ["pool"]


def test_concept_iri_wins_over_the_name() -> None:
    tag = {"type": "Hashtag", "href": "https://kennisknoop.nl/themes/pool", "name": "#zorg"}
    assert themes.parse_tags([tag]) == ["pool"]


def test_expand_adds_broader_themes_once() -> None:
    assert themes.expand(["meals", "care-wellbeing", "broadband", "pool"]) == [
        "meals", "care-wellbeing", "broadband", "pool", "facilities",
    ]


def test_to_skos_describes_scheme_and_every_concept() -> None:
    document = themes.to_skos()
    scheme, *concepts = document["@graph"]
    assert scheme["type"] == "ConceptScheme"
    assert scheme["hasTopConcept"] == [themes.concept_iri(top) for top in DESIGN_SCHEME]
    assert [c["notation"] for c in concepts] == [t.id for t in themes.all_themes()]
    meals = next(c for c in concepts if c["notation"] == "meals")
    assert meals["prefLabel"] == {"nl": "Maaltijden", "en": "Meals"}
    assert meals["broader"] == themes.concept_iri("care-wellbeing")
    care = next(c for c in concepts if c["notation"] == "care-wellbeing")
    assert care["topConceptOf"] == themes.SCHEME_IRI
    assert themes.concept_iri("meals") in care["narrower"]


def test_to_skos_expands_to_skos_terms() -> None:
    jsonld = pytest.importorskip("pyld.jsonld")
    expanded = jsonld.expand(themes.to_skos())
    skos = "http://www.w3.org/2004/02/skos/core#"
    meals = next(n for n in expanded if n["@id"] == themes.concept_iri("meals"))
    assert meals["@type"] == [f"{skos}Concept"]
    assert {"@language": "nl", "@value": "Maaltijden"} in meals[f"{skos}prefLabel"]
    assert meals[f"{skos}broader"] == [{"@id": themes.concept_iri("care-wellbeing")}]


@pytest.mark.parametrize(
    ("labels", "design"),
    [
        (themes.LEGAL_FORMS,
         ["cooperative", "association", "foundation", "residents-company", "informal"]),
        (themes.PHASES, ["idea", "starting", "active", "mature"]),
        (themes.STATUSES, ["active", "on-hold", "completed", "stopped"]),
        (themes.ITEM_KINDS,
         ["story", "guide", "template", "question", "answer", "bottleneck", "event"]),
        (themes.QUESTION_CATEGORIES, ["content", "organisational", "ethical"]),
    ],
    ids=["legal-forms", "phases", "statuses", "item-kinds", "question-categories"],
)
def test_value_lists_are_the_design_values_with_both_labels(
    labels: Mapping[str, themes.Label], design: list[str]
) -> None:
    assert list(labels) == design
    for label in labels.values():
        assert label.nl and label.en


def test_provinces_are_the_twelve_cbs_codes() -> None:
    assert list(themes.PROVINCES) == [f"PV{n}" for n in range(20, 32)]
    assert themes.PROVINCES["PV21"].nl == "Fryslân"
    assert themes.PROVINCES["PV30"] == themes.Label("Noord-Brabant", "North Brabant")


def test_value_lists_are_read_only() -> None:
    with pytest.raises(TypeError):
        themes.PHASES["new"] = themes.Label("Nieuw", "New")  # type: ignore[index]
