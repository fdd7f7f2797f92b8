"""The database schema (SQLAlchemy Core); Alembic migrations in node/migrations build the same.

Tables and their aggregates:
- ``actors``: local actors (node, initiatives, themes; with their private keys; whether they
  approve followers by hand) and remote ones (cached documents and keys).
- ``objects``: knowledge items, local and received; a deleted object keeps its row as a tombstone;
  a received one an admin hid carries ``hidden_at``/``hidden_by``.
- ``activities``: activities this node originated (the outboxes) — signed documents as served,
  except that an embedded object or activity stored elsewhere is stored once, by reference
  (``embeds``, ``version_id``; ``node.store.activities`` puts it back when reading).
- ``object_versions``: earlier documents of objects that a stored activity still embeds (the
  current one is ``objects.document``).
- ``follows``: who follows whom, local and remote, with the Follow activity's id.
- ``users``, ``grants``, ``tokens``: editors and admins, which actors they may edit, API tokens.
- ``inbox``: received activities, stored raw and applied by the worker (federation).
- ``deliveries``: the durable outgoing queue, one row per (activity, inbox).
- ``peers``: per-host health for delivery (failures, unavailable since).
- ``jobs``: other durable background work (backfill, sync), unique by ``key``.
- ``feed``: what arrived for each local actor from the actors it follows.
- ``flags``: reports (``Flag``) received, for the admins.
- ``web_sessions``: signed-in browser sessions (hash of the cookie's id, CSRF token, expiry).
- ``login_failures``: failed sign-ins per user name and per client address (rate limiting).
- ``blocks``: hosts an admin blocked at run time (``kennisknoop block``, the admin API); they
  combine with the configured ``federation.block``/``allow``.
- ``endorsements``: who endorses (or, from outside Kennisknoop, supports) which bottleneck, with
  the ``Like`` it came by, its note and the endorser's province; a withdrawn one keeps its row.
- ``notification_marks``, ``mail_settings``: which derived notifications a user read or was
  mailed, and their mail choice (docs/following.md).
- ``search_docs``, ``search_themes``: the search index of items and initiatives (docs/search.md);
  on SQLite the FTS5 table ``search_fts`` (external content: ``search_docs``) beside them, made
  by the migration only (SQLAlchemy cannot declare virtual tables); on PostgreSQL the ``tsv``
  column with its GIN index.
- ``workers``: the heartbeat of each running worker (``/readyz``, ``kennisknoop restore``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


IRI = String(2048)

actors = Table(
    "actors", metadata,
    Column("id", Integer, primary_key=True),
    Column("ap_id", IRI, nullable=False, unique=True),
    Column("is_local", Boolean, nullable=False),
    Column("kind", String(16), nullable=False),  # node | initiative | theme | person | remote
    Column("handle", String(64), unique=True),  # local actors only
    Column("host", String(255), nullable=False, index=True),
    Column("type", String(32), nullable=False),
    Column("preferred_username", String(255)),
    Column("name", Text),
    Column("summary", Text),
    Column("inbox", IRI),
    Column("outbox", IRI),
    Column("followers", IRI),
    Column("following", IRI),
    Column("shared_inbox", IRI),
    Column("rsa_key_id", IRI),
    Column("rsa_public_pem", Text),
    Column("rsa_private_pem", Text),
    Column("ed_key_id", IRI),
    Column("ed_public_multibase", String(128)),
    Column("ed_private_pem", Text),
    Column("profile", JSON, nullable=False, default=dict),
    Column("document", JSON),
    Column("version", Integer, nullable=False, default=1),
    Column("published", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    Column("fetched_at", UTCDateTime),
    Column("deleted_at", UTCDateTime),
    # A local actor whose Follows wait for an editor's answer (manuallyApprovesFollowers).
    Column("approves_followers", Boolean, nullable=False, default=False,
           server_default=false()),
)

objects = Table(
    "objects", metadata,
    Column("id", Integer, primary_key=True),
    Column("ap_id", IRI, nullable=False, unique=True),
    Column("is_local", Boolean, nullable=False),
    Column("host", String(255), nullable=False, index=True),
    Column("kind", String(16), nullable=False, index=True),
    Column("type", String(32), nullable=False),
    Column("attributed_to", IRI, nullable=False, index=True),
    Column("title", Text),
    Column("summary", Text),
    Column("content", Text),  # Markdown source (local) or sanitised HTML (remote)
    Column("content_html", Text),
    Column("language", String(16)),
    Column("license", String(255)),
    Column("themes", JSON, nullable=False, default=list),
    Column("province_code", String(8), index=True),
    Column("municipality_code", String(8)),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("in_reply_to", IRI, index=True),
    Column("fields", JSON, nullable=False, default=dict),  # kind-specific values
    Column("search_text", Text),
    Column("version", Integer, nullable=False),
    Column("published", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime),
    Column("received_at", UTCDateTime, nullable=False),
    Column("document", JSON, nullable=False),
    # A received item an admin hid here (docs/pages.md, "Beheer"): kept, updated, not shown.
    Column("hidden_at", UTCDateTime),
    Column("hidden_by", String(64)),
    Index("ix_objects_published_id", "published", "id"),
)

activities = Table(
    "activities", metadata,
    Column("id", Integer, primary_key=True),
    Column("ap_id", IRI, nullable=False, unique=True),
    Column("actor", IRI, nullable=False),
    Column("type", String(32), nullable=False),
    Column("object_ap_id", IRI, index=True),
    Column("published", UTCDateTime, nullable=False),
    # The signed document as served, except that with ``embeds`` set its ``object`` is stored as
    # null and put back when read, from where that document is stored once: ``object`` the
    # current ``objects.document`` of ``object_ap_id``; ``version`` the ``object_versions`` row
    # ``version_id`` (an earlier version of it); ``activity`` the activity ``object_ap_id``.
    Column("document", JSON, nullable=False),
    Column("embeds", String(16)),  # NULL (stored whole) | object | version | activity
    Column("version_id", Integer),
    # With ``embeds``: the ``@context`` is stored as null too, being the embedded document's.
    Column("shares_context", Boolean),
    Index("ix_activities_actor_id", "actor", "id"),
)

object_versions = Table(
    "object_versions", metadata,
    # A document of an object that is no longer its current one (an earlier version, or the
    # copy signed by a rotated key), kept while an activity embeds it (``embeds = 'version'``).
    Column("id", Integer, primary_key=True),
    Column("ap_id", IRI, nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("document", JSON, nullable=False),
)

follows = Table(
    "follows", metadata,
    Column("id", Integer, primary_key=True),
    Column("follower", IRI, nullable=False),
    Column("followee", IRI, nullable=False, index=True),
    Column("state", String(16), nullable=False),  # pending | accepted | rejected
    Column("activity_ap_id", IRI),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("sync_head", IRI),  # newest outbox activity seen by the last complete sync
    Column("last_synced_at", UTCDateTime),
    UniqueConstraint("follower", "followee", name="uq_follows_pair"),
)

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),  # admin | editor
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

grants = Table(
    "grants", metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("actor_id", Integer, ForeignKey("actors.id", ondelete="CASCADE"), primary_key=True),
)

tokens = Table(
    "tokens", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
)

inbox = Table(
    "inbox", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("activity_ap_id", IRI, nullable=False, unique=True),
    Column("actor", IRI, nullable=False),
    Column("type", String(32), nullable=False),
    Column("recipient", IRI),  # the local inbox owner, or NULL for the shared inbox
    Column("document", JSON, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False),  # pending | done | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime),
    Column("last_error", Text),
    # The sender's host for POSTed activities (NULL for fetched ones): the per-host backlog cap
    # (node.services.ratelimit) counts pending rows by it in one indexed query.
    Column("host", String(255)),
    Index("ix_inbox_due", "state", "next_attempt_at"),
    Index("ix_inbox_host_state", "host", "state"),
)

deliveries = Table(
    "deliveries", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("activity_ap_id", IRI, nullable=False),
    Column("inbox_url", IRI, nullable=False),
    Column("host", String(255), nullable=False, index=True),
    Column("signer", IRI, nullable=False),
    Column("state", String(16), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("sent_at", UTCDateTime),
    UniqueConstraint("activity_ap_id", "inbox_url", name="uq_deliveries_pair"),
    Index("ix_deliveries_due", "state", "next_attempt_at"),
)

peers = Table(
    "peers", metadata,
    Column("host", String(255), primary_key=True),
    Column("software", String(64)),
    Column("accepts_rfc9421", Boolean, nullable=False, default=False),
    Column("failure_days", JSON, nullable=False, default=list),
    Column("unavailable_since", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_failure_at", UTCDateTime),
)

jobs = Table(
    "jobs", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("key", String(2100), nullable=False, unique=True),
    Column("payload", JSON, nullable=False, default=dict),
    Column("state", String(16), nullable=False),  # pending | done | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime),
    Column("last_error", Text),
    Index("ix_jobs_due", "state", "next_attempt_at"),
)

feed = Table(
    "feed", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("owner", IRI, nullable=False),
    Column("object_ap_id", IRI, nullable=False),
    Column("via", IRI, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("owner", "object_ap_id", name="uq_feed_owner_object"),
    Index("ix_feed_owner_id", "owner", "id"),
)

flags = Table(
    "flags", metadata,
    Column("id", Integer, primary_key=True),
    Column("activity_ap_id", IRI, nullable=False, unique=True),
    Column("actor", IRI, nullable=False),
    Column("objects", JSON, nullable=False, default=list),
    Column("content", Text),
    Column("received_at", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False),  # open | resolved
)

web_sessions = Table(
    "web_sessions", metadata,
    # SHA-256 (hex) of the random session id in the cookie: a leaked table gives no sessions.
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("csrf_token", String(64), nullable=False),  # synchronizer token of every form
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

login_failures = Table(
    "login_failures", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("key", String(128), nullable=False),  # "user:<name>" or "ip:<address>"
    Column("failed_at", UTCDateTime, nullable=False),
    Index("ix_login_failures_key_failed_at", "key", "failed_at"),
)

blocks = Table(
    "blocks", metadata,
    Column("host", String(255), primary_key=True),  # normalised host[:port] (protocol.origin)
    Column("created_at", UTCDateTime, nullable=False),
    Column("reason", Text),
)

SEARCH_FACETS_INDEX = ("id", "doc_type", "kind", "province", "legal_form", "phase", "status",
                       "is_local", "host", "published", "latitude", "longitude", "answered")

search_docs = Table(
    "search_docs", metadata,
    Column("id", Integer, primary_key=True),
    Column("ap_id", IRI, nullable=False, unique=True),
    Column("doc_type", String(16), nullable=False),  # item | initiative
    Column("kind", String(16), index=True),  # item kind; NULL for initiatives
    Column("is_local", Boolean, nullable=False),
    Column("host", String(255), nullable=False, index=True),
    Column("province", String(8), index=True),
    Column("legal_form", String(32)),
    Column("phase", String(32)),
    Column("status", String(32)),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("url", IRI, nullable=False),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),  # plain summary and body, for snippets
    Column("themes", JSON, nullable=False, default=list),
    Column("published", UTCDateTime, nullable=False),
    # Pre-analysed terms (node.services.search_text); search_fts indexes these on SQLite.
    Column("terms_title", Text, nullable=False),
    Column("terms_summary", Text, nullable=False),
    Column("terms_body", Text, nullable=False),
    Column("terms_parts", Text, nullable=False),
    Column("tsv", TSVECTOR().with_variant(Text(), "sqlite")),  # PostgreSQL only
    # Questions: 0 open, 1 with answers, 2 answered (node.store.questions); ranks them.
    Column("answered", Integer, nullable=False, default=0, server_default="0"),
    Index("ix_search_docs_published_id", "published", "id"),
    # Covering the search's pass over the matches (filters, facets, order): it never reads the
    # wide rows (node.store.search).
    Index("ix_search_docs_facets", *SEARCH_FACETS_INDEX),
)

search_themes = Table(
    "search_themes", metadata,
    Column("doc_id", Integer, ForeignKey("search_docs.id", ondelete="CASCADE"), primary_key=True),
    Column("theme", String(64), primary_key=True),
    Index("ix_search_themes_theme_doc_id", "theme", "doc_id"),
)

endorsements = Table(
    "endorsements", metadata,
    Column("id", Integer, primary_key=True),
    Column("object_ap_id", IRI, nullable=False),  # the bottleneck
    Column("actor", IRI, nullable=False),  # the initiative (or any fediverse actor: support)
    Column("kind", String(16), nullable=False),  # endorsement | support
    Column("activity_ap_id", IRI),  # the Like; NULL for a local initiative's local bottleneck
    Column("note", Text),
    Column("province_code", String(8)),  # the endorser's, when it endorsed
    Column("created_at", UTCDateTime, nullable=False),  # when this endorsement (last) began
    Column("withdrawn_at", UTCDateTime),
    UniqueConstraint("object_ap_id", "actor", name="uq_endorsements_pair"),
    Index("ix_endorsements_activity_ap_id", "activity_ap_id"),
    Index("ix_endorsements_created_at", "created_at"),
)

workers = Table(
    "workers", metadata,
    Column("id", String(100), primary_key=True),  # host:pid:random, one per worker run
    Column("started_at", UTCDateTime, nullable=False),
    Column("beat_at", UTCDateTime, nullable=False, index=True),
)

notification_marks = Table(
    "notification_marks", metadata,
    # Notifications are derived from the rows they are about (node.store.notifications); what
    # is stored is only, per user and notification key (SHA-256 hex), that it was read and/or
    # mailed: the key is unique, so a second mail of one notification is never recorded twice.
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("key_hash", String(64), primary_key=True),
    Column("read_at", UTCDateTime),
    Column("mailed_at", UTCDateTime),
)

mail_settings = Table(
    "mail_settings", metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("address", String(320), nullable=False),
    Column("mode", String(16), nullable=False),  # none | immediate | daily
    Column("since", UTCDateTime, nullable=False),  # notifications before it are never mailed
    Column("last_digest_at", UTCDateTime),
)
