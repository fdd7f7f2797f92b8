"""Tests for node/services/content.py: the sanitiser, Markdown, plain-text checks, search words."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.services import content
from node.services.content import (
    LINK_REL,
    contains_html,
    plain_text_from_html,
    render_markdown,
    round_coordinates,
    sanitise_html,
    search_text,
    search_words,
    strip_marks,
)

# --- sanitiser ---------------------------------------------------------------------------------


def test_sanitiser_removes_script_with_its_content() -> None:
    out = sanitise_html("<p>hallo<script>alert(1)</script></p>")
    assert out == "<p>hallo</p>"


def test_sanitiser_removes_event_handler_attributes() -> None:
    out = sanitise_html('<p onclick="alert(1)" onmouseover="x()">hallo</p>')
    assert out == "<p>hallo</p>"


def test_sanitiser_removes_javascript_link_target() -> None:
    out = sanitise_html('<a href="javascript:alert(1)">klik</a>')
    assert "javascript" not in out
    assert "href" not in out


def test_sanitiser_removes_data_url_link_target() -> None:
    out = sanitise_html('<a href="data:text/html,<script>alert(1)</script>">klik</a>')
    assert "href" not in out


def test_sanitiser_removes_iframe_with_its_content() -> None:
    out = sanitise_html('<iframe src="https://evil.example/">fallback</iframe><p>ok</p>')
    assert out == "<p>ok</p>"


def test_sanitiser_removes_svg_with_its_content() -> None:
    out = sanitise_html('<svg onload="alert(1)"><a href="https://x.nl">s</a></svg><p>ok</p>')
    assert out == "<p>ok</p>"


def test_sanitiser_removes_style_element_and_attribute() -> None:
    out = sanitise_html('<style>p{display:none}</style><p style="color:red">ok</p>')
    assert out == "<p>ok</p>"


def test_sanitiser_removes_img_and_its_onerror() -> None:
    out = sanitise_html('<p>a<img src="x" onerror="alert(1)">b</p>')
    assert out == "<p>ab</p>"


def test_sanitiser_removes_form_controls() -> None:
    out = sanitise_html('<form action="https://x"><input name="q"><button>go</button></form>')
    assert "<form" not in out and "<input" not in out and "<button" not in out


def test_sanitiser_sets_rel_on_links_replacing_given_rel_and_target() -> None:
    out = sanitise_html('<a href="https://x.nl" rel="me" target="_blank" title="t">x</a>')
    assert out == f'<a href="https://x.nl" title="t" rel="{LINK_REL}">x</a>'


def test_sanitiser_keeps_mailto_links() -> None:
    out = sanitise_html('<a href="mailto:info@dorp.nl">mail</a>')
    assert 'href="mailto:info@dorp.nl"' in out


def test_sanitiser_keeps_mastodon_mention_classes_only() -> None:
    out = sanitise_html('<span class="h-card evil"><a class="u-url mention big" '
                        'href="https://m.example/@a">@a</a></span>')
    assert 'class="h-card"' in out
    assert 'class="u-url mention"' in out
    assert "evil" not in out and "big" not in out


def test_sanitiser_keeps_allowed_structure() -> None:
    source = ("<h2>Kop</h2><p><strong>a</strong> <em>b</em> <del>c</del> <code>d</code></p>"
              "<blockquote><p>q</p></blockquote><ul><li>1</li></ul><hr>")
    assert sanitise_html(source) == source


def test_sanitiser_removes_comments() -> None:
    assert sanitise_html("<p>a<!-- [if IE]><script>x</script><![endif] -->b</p>") == "<p>ab</p>"


# --- Markdown ----------------------------------------------------------------------------------


def test_markdown_links_carry_rel() -> None:
    out = render_markdown("[site](https://dorp.nl)")
    assert out == f'<p><a href="https://dorp.nl" rel="{LINK_REL}">site</a></p>\n'


def test_markdown_raw_html_is_shown_as_text() -> None:
    out = render_markdown('<script>alert(1)</script> <img src=x onerror="alert(1)">')
    assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;" in out


def test_markdown_javascript_link_is_not_a_link() -> None:
    out = render_markdown("[klik](javascript:alert(1))")
    assert "<a" not in out


def test_markdown_image_becomes_a_link_labelled_with_alt_text() -> None:
    out = render_markdown('![de molen <b>](https://dorp.nl/molen.jpg)')
    assert "<img" not in out
    assert f'<a href="https://dorp.nl/molen.jpg" rel="{LINK_REL}">de molen &lt;b&gt;</a>' in out


def test_markdown_renders_tables_without_style() -> None:
    out = render_markdown("| a | b |\n|--:|---|\n| 1 | 2 |\n")
    assert "<table>" in out and "<td>1</td>" in out
    assert "style" not in out


def test_markdown_renders_strikethrough() -> None:
    assert render_markdown("~~oud~~") == "<p><s>oud</s></p>\n"


def test_markdown_does_not_linkify_bare_urls() -> None:
    assert "<a" not in render_markdown("zie https://dorp.nl")


# --- plain text --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "<b>vet</b>", "a<script", "</p>", "<!-- x -->", "<?xml", "<!DOCTYPE html>",
    "&lt;script&gt;", "&#60;b&#62;", "&#x3C;/p", "&lt;!--",
])
def test_contains_html_detects_tags_and_encoded_tags(text: str) -> None:
    assert contains_html(text)


@pytest.mark.parametrize("text", [
    "Dorpsbelang Reduzum", "3 < 4 en 5 > 2", "R&D & meer", "a &amp; b", "<3", "&lt; 4", "",
    "e-mail: info@dorp.nl", "Fryslân",
])
def test_contains_html_accepts_plain_text(text: str) -> None:
    assert not contains_html(text)


def test_plain_text_from_html_strips_tags_and_unescapes() -> None:
    assert plain_text_from_html("<p>Wij &amp; <em>jullie</em></p>") == "Wij & jullie"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="<&"), max_size=40))
def test_plain_text_without_markup_is_what_the_parser_gives(text: str) -> None:
    # The fast path (no "<", no "&") against the parser it skips.
    parser = content._TextExtractor()
    parser.feed(text)
    parser.close()
    assert plain_text_from_html(text) == content._WHITESPACE.sub(
        " ", "".join(parser.parts)).strip()


def test_plain_text_from_html_separates_blocks() -> None:
    assert plain_text_from_html("<p>een</p><p>twee<br>drie</p><ul><li>vier</li></ul>") == \
        "een twee drie vier"


def test_plain_text_from_html_drops_script_content() -> None:
    assert plain_text_from_html("<p>a</p><script>alert(1)</script><style>p{}</style>") == "a"


def test_plain_text_from_html_collapses_whitespace() -> None:
    assert plain_text_from_html("  a\n\n\t b&nbsp; c ") == "a b c"


# --- search words ------------------------------------------------------------------------------


def test_search_words_lowercases_strips_diacritics_and_stems() -> None:
    assert search_words("Coöperatie Fryslân FIETSEN") == search_words("cooperatie fryslan fietsen")
    assert search_words("fietsen") == ["fiets"]


def test_search_words_stems_plural_and_singular_alike() -> None:
    assert search_words("dorpen") == search_words("dorp")


def test_search_words_drops_one_character_tokens() -> None:
    assert search_words("a b c dorp") == ["dorp"]


def test_search_words_splits_on_punctuation() -> None:
    assert search_words("zorg-coöperatie, (energie)!") == search_words("zorg coöperatie energie")


def test_search_words_of_text_without_words_is_empty() -> None:
    assert search_words("— !? —") == []


def test_search_text_is_padded_with_spaces() -> None:
    assert search_text("Dorp", "zorg") == " dorp zorg "


def test_search_text_skips_none_and_empty_parts() -> None:
    assert search_text(None, "", "dorp") == " dorp "


def test_search_words_gives_the_same_result_in_many_threads() -> None:
    text = "Energiecoöperaties in de dorpen van Drenthe werken samen aan zonneparken " * 20
    expected = search_words(text)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(search_words, [text] * 64))
    assert all(result == expected for result in results)


def test_importing_content_does_not_create_a_stemmer() -> None:
    code = "import sys, node.services.content; print('Stemmer' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- coordinates -------------------------------------------------------------------------------


def test_round_coordinates_defaults_to_village_precision() -> None:
    assert round_coordinates(53.123456, 5.987654, exact=False) == (53.12, 5.99)


def test_round_coordinates_exact_keeps_six_decimals() -> None:
    assert round_coordinates(53.12345678, 5.98765432, exact=True) == (53.123457, 5.987654)


def test_round_coordinates_never_gives_negative_zero() -> None:
    lat, lon = round_coordinates(-0.001, -0.004, exact=False)
    assert str(lat) == "0.0" and str(lon) == "0.0"


def test_strip_marks_drops_exactly_the_combining_characters() -> None:
    text = "".join(chr(c) for c in range(0x20, 0x30000) if not 0xD800 <= c < 0xE000)
    decomposed = unicodedata.normalize("NFKD", text)
    assert strip_marks(text) == "".join(
        ch for ch in decomposed if not unicodedata.combining(ch))
    assert strip_marks("Coöperatie Fryslân") == "Cooperatie Fryslan"
    assert strip_marks("plain ascii") == "plain ascii"
