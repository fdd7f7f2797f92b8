"""The federation policy as a value: host matching, configured modes, the deprecated alias."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.config import Settings, build_settings
from node.services import policy
from node.services.context import NodeContext
from node.services.errors import RejectedError, ValidationError
from node.store.blocks import HostRule


def _settings(tmp_path: Path, **federation: object) -> Settings:
    values = {("node", "url"): "https://drenthe.test", ("node", "name"): "BOKD",
              ("node", "handle"): "drenthe",
              **{("federation", key): value for key, value in federation.items()}}
    return build_settings(tmp_path, values, environ={})


@pytest.mark.parametrize(("host", "allowed"), [
    ("evil.test", False), ("EVIL.test", True),  # hosts arrive normalised; this one is not
    ("evil.test:8443", False), ("cdn.evil.test", False), ("cdn.evil.test:8443", False),
    ("notevil.test", True), ("evil.test.example", True), ("fryslan.test", True),
])
def test_a_block_covers_the_host_on_any_port_and_its_subdomains(host: str, allowed: bool) -> None:
    assert HostRule(blocked=frozenset({"evil.test"})).allows(host) is allowed


def test_allowlist_takes_only_its_hosts_and_a_block_still_wins() -> None:
    rule = HostRule(blocked=frozenset({"bad.fryslan.test"}),
                    allowed=frozenset({"fryslan.test"}))
    assert [rule.allows(h) for h in ("fryslan.test", "kennis.fryslan.test",
                                     "bad.fryslan.test", "lvkk.test")] == [
        True, True, False, False]


def test_blocklist_mode_is_read_as_open(tmp_path: Path) -> None:
    settings = _settings(tmp_path, mode="blocklist", block=["evil.test"])
    assert settings.federation.mode == "open"
    assert policy.configured_mode(settings) == "open"
    assert not policy.configured_allows(settings, "evil.test")
    assert policy.configured_allows(settings, "fryslan.test")


def test_configured_hosts_are_compared_in_their_normalised_form(tmp_path: Path) -> None:
    settings = _settings(tmp_path, mode="allowlist", allow=["Bücher.test.", "https://x.test/"])
    assert policy.configured_allows(settings, "xn--bcher-kva.test")
    assert policy.configured_allows(settings, "x.test")
    assert not policy.configured_allows(settings, "y.test")


@pytest.mark.parametrize("text", ["", "a b", "https://", "ftp://x.test/"])
def test_a_host_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValidationError) as refused:
        policy.normalise(text)
    assert refused.value.reason == "bad_value"


async def test_content_is_checked_against_the_rule_a_batch_holds(ctx: NodeContext) -> None:
    # Given a rule held by a backfill batch (read once for it) that refuses a host the node's
    # current rule allows
    held = HostRule(blocked=frozenset({"evil.test"}))
    # Then the check uses the held rule, and without one the current rule
    with pytest.raises(RejectedError):
        await policy.check_content(ctx, "https://evil.test/items/1", current=held)
    await policy.check_content(ctx, "https://evil.test/items/1")
    await policy.check_content(ctx, "https://good.test/items/1", current=held)
