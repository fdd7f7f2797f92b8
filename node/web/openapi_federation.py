"""The OpenAPI part of federation and moderation: follows, the actor feed, reports, queues,
run-time blocks, hidden items, follow requests, aggregator suggestions, and inbound feed
subscriptions (``node.web.federation_api``, ``node.web.feeds_api``). ``node.web.openapi`` merges
these paths into the one document.
"""

from __future__ import annotations

from typing import Any

from node.web.openapi_common import (
    _BEARER,
    _WRITE_ERRORS,
    JSON,
    _body,
    _enum,
    _errors,
    _inline,
    _ok,
    _query,
    _ref,
    _schema,
)


def feed_paths() -> dict[str, Any]:
    """Inbound feed subscriptions (docs/bridges.md)."""
    subscription = {"type": "object", "required": ["id", "url", "as", "kind", "state"],
                    "properties": {
                        "id": {"type": "string"}, "url": {"type": "string", "format": "uri"},
                        "as": {"type": "string"}, "actor": {"type": "string", "format": "uri"},
                        "kind": {"type": "string"}, "themes": {"type": "array",
                                                               "items": {"type": "string"}},
                        "state": _enum(("ok", "failing")),
                        "failures": {"type": "integer", "description": "Failed fetches in a "
                                     "row (retried with back-off)."},
                        "last_error": {"type": ["string", "null"]},
                        "last_fetched": {"type": ["string", "null"], "format": "date-time"},
                        "next_fetch": {"type": "string", "format": "date-time"},
                        "entries": {"type": "integer", "description": "Entries seen so far."}}}
    one = {"description": "The subscription.",
           "content": {JSON: {"schema": subscription}}}
    listed = {"description": "Every subscription, with its fetch state.", "content": {JSON: {
        "schema": {"type": "object", "required": ["feeds"], "properties": {
            "feeds": {"type": "array", "items": subscription}}}}}}
    return {
        "/api/feeds": {
            "get": {"operationId": "listFeeds", "tags": ["feeds"], "security": [],
                    "summary": "Feed subscriptions and how their fetches go",
                    "responses": {"200": listed}},
            "post": {"operationId": "subscribeFeed", "tags": ["feeds"], "security": _BEARER,
                     "summary": "Subscribe an initiative to an RSS or Atom feed",
                     "description": "The worker fetches it at once, then every "
                                    "`feeds.poll_seconds`; each new entry becomes an item by "
                                    "the initiative, linking to the original.",
                     "requestBody": _body("FeedInput"),
                     "responses": {"201": one, **_errors(*_WRITE_ERRORS, "NotFound")}}},
        "/api/feeds/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "delete": {"operationId": "unsubscribeFeed", "tags": ["feeds"], "security": _BEARER,
                       "summary": "Stop fetching a feed (its items stay)",
                       "responses": {"204": {"description": "Unsubscribed."},
                                     **_errors("Unauthenticated", "Forbidden", "NotFound")}}},
    }


def federation_paths() -> dict[str, Any]:
    handle = _ref("parameters", "handle")
    follows = {"operationId": "", "tags": ["federation"], "security": [],
               "responses": {**_ok("FollowList", "Accepted and pending follows."),
                             **_errors("NotFound")}}
    following = {"parameters": [handle], "get": {
        **follows, "operationId": "listFollowing", "summary": "Whom a local actor follows"}}
    followers = {"parameters": [handle], "get": {
        **follows, "operationId": "listFollowers", "summary": "Who follows a local actor"}}
    target = [_query("target", {"type": "string"}, "Handle or actor URL."),
              _query("as", {"type": "string"}, "Local initiative handle (default: the node).")]
    return {
        "/api/follows": {
            "post": {"operationId": "follow", "tags": ["federation"], "security": _BEARER,
                     "summary": "Follow a node, initiative or theme anywhere",
                     "description": "As the node actor (admins) or `as` a local initiative "
                                    "(its editors). 201 when the follow holds at once (same "
                                    "node), 202 while the other side is asked.",
                     "requestBody": _body("FollowInput"),
                     "responses": {**_ok("Follow", "The follow holds.", "201"),
                                   **_ok("Follow", "Asked; the worker delivers it.", "202"),
                                   **_errors(*_WRITE_ERRORS, "NotFound")}},
            "delete": {"operationId": "unfollow", "tags": ["federation"], "security": _BEARER,
                       "summary": "Stop following", "parameters": target,
                       "responses": {"204": {"description": "Not following any more."},
                                     **_errors("Unauthenticated", "Forbidden", "NotFound",
                                               "Unprocessable")}},
        },
        "/api/actors/{handle}/feed": {"parameters": [handle], "get": {
            "operationId": "getFeed", "tags": ["federation"], "security": [],
            "summary": "What the actors this local actor follows published, newest first",
            "parameters": [_ref("parameters", "limit"),
                           _query("max_id", {"type": "integer", "minimum": 1},
                                  "From a previous page's `next`.")],
            "responses": {**_ok("ItemPage", "A page; follow `next` for more."),
                          **_errors("NotFound", "Unprocessable")}}},
        "/api/actors/{handle}/following": following,
        "/api/actors/{handle}/followers": followers,
        "/api/flags": {"get": {
            "operationId": "listFlags", "tags": ["federation"], "security": _BEARER,
            "summary": "Reports (Flag) received from other servers (admins)",
            "responses": {**_ok("FlagList", "Newest first."),
                          **_errors("Unauthenticated", "Forbidden")}}},
        "/api/federation": {"get": {
            "operationId": "getFederationStatus", "tags": ["federation"], "security": _BEARER,
            "summary": "Delivery and inbox queues and peer health (admins)",
            "responses": {**_ok("FederationStatus", "Counts by state and every known peer."),
                          **_errors("Unauthenticated", "Forbidden")}}},
        "/api/admin/blocks": _block_paths(),
        "/api/admin/hidden": _hidden_paths(),
        **_follow_request_paths(),
        "/api/aggregator/suggestions": {"get": {
            "operationId": "listAggregatorSuggestions", "tags": ["federation"],
            "security": _BEARER,
            "summary": "Nodes followed by the nodes this node follows, not followed yet (admins)",
            "description": "Offered, never followed on their own: follow one with "
                           "POST /api/follows.",
            "responses": {**_inline({"type": "object", "required": ["suggestions"],
                                     "properties": {"suggestions": {"type": "array", "items": {
                                         "type": "object",
                                         "required": ["actor", "name", "host", "followed_by"],
                                         "properties": {
                                             "actor": {"type": "string", "format": "uri"},
                                             "name": {"type": ["string", "null"]},
                                             "host": {"type": "string"},
                                             "followed_by": {"type": "array", "items": {
                                                 "type": "string", "format": "uri"}}}}}}},
                                    "Node actors, in the order they were found."),
                          **_errors("Unauthenticated", "Forbidden")}}},
    }


def _block_paths() -> dict[str, Any]:
    """Run-time host blocks (``kennisknoop block``): small inline schemas, admins only."""
    host = {"type": "string", "maxLength": 255, "description": "A host name, e.g. evil.example."}
    block = {"type": "object", "required": ["host", "created_at"], "properties": {
        "host": host, "created_at": {"type": "string", "format": "date-time"},
        "reason": {"type": ["string", "null"]}}}
    listing = {"type": "object", "required": ["mode", "blocks"], "properties": {
        "mode": {"enum": ["open", "allowlist"]},
        "configured_block": {"type": "array", "items": {"type": "string"}},
        "allow": {"type": "array", "items": {"type": "string"}},
        "blocks": {"type": "array", "items": block}}}
    body = {"type": "object", "required": ["host"], "additionalProperties": False, "properties": {
        "host": host, "purge": {"type": "boolean", "default": False,
                                "description": "Also delete what is stored from the host."},
        "reason": {"type": "string", "maxLength": 1000}}}
    added = {"type": "object", "required": ["host", "purged"], "properties": {
        "host": host, "purged": {"type": "integer", "minimum": 0}}}
    tags, errors = ["federation"], ("Unauthenticated", "Forbidden")
    return {
        "get": {"operationId": "listBlocks", "tags": tags, "security": _BEARER,
                "summary": "The federation policy: mode, configured and run-time blocks (admins)",
                "responses": {**_inline(listing, "Run-time blocks, host order."),
                              **_errors(*errors)}},
        "post": {"operationId": "blockHost", "tags": tags, "security": _BEARER,
                 "summary": "Block a host (and its subdomains) at once (admins)",
                 "description": "Nothing more is fetched from or sent to it; what is stored "
                                "from it is hidden until it is unblocked, or deleted with "
                                "`purge`. 201 when newly blocked, 200 when it was already.",
                 "requestBody": {"required": True, "content": {JSON: {"schema": body}}},
                 "responses": {**_inline(added, "Newly blocked.", "201"),
                               **_inline(added, "Was blocked already.", "200"),
                               **_errors(*_WRITE_ERRORS)}},
        "delete": {"operationId": "unblockHost", "tags": tags, "security": _BEARER,
                   "summary": "Lift a run-time block (admins)",
                   "parameters": [{**_query("host", host, "The blocked host."),
                                   "required": True}],
                   "responses": {"204": {"description": "Unblocked; its content shows again."},
                                 **_errors(*errors, "NotFound", "Unprocessable")}},
    }


def _hidden_paths() -> dict[str, Any]:
    """Received items hidden on this node (node.services.hiding): admins only."""
    iri = {"type": "string", "format": "uri", "maxLength": 2048,
           "description": "The IRI of a received item."}
    hidden = {"allOf": [_schema("Item"), {"type": "object",
                                           "required": ["hidden_at", "hidden_by"], "properties": {
                                               "hidden_at": {"type": "string",
                                                             "format": "date-time"},
                                               "hidden_by": {"type": ["string", "null"]}}}]}
    listing = {"type": "object", "required": ["items"],
               "properties": {"items": {"type": "array", "items": hidden}}}
    body = {"type": "object", "required": ["item"], "additionalProperties": False,
            "properties": {"item": iri}}
    tags, errors = ["federation"], ("Unauthenticated", "Forbidden")
    return {
        "get": {"operationId": "listHiddenItems", "tags": tags, "security": _BEARER,
                "summary": "Received items an admin hid on this node (admins)",
                "responses": {**_inline(listing, "Most recently hidden first."),
                              **_errors(*errors)}},
        "post": {"operationId": "hideItem", "tags": tags, "security": _BEARER,
                 "summary": "Hide a received item on this node (admins)",
                 "description": "It disappears from every list, search, feed, the map, the "
                                "statistics and this node's outboxes, and its page answers 404 "
                                "to anyone but an admin. An Update from its origin does not "
                                "show it again; a Delete still deletes it. An item of this node "
                                "itself is refused (422 `local_item`): edit or delete it. 201 "
                                "when newly hidden, 200 when it was already.",
                 "requestBody": {"required": True, "content": {JSON: {"schema": body}}},
                 "responses": {**_inline(hidden, "Newly hidden.", "201"),
                               **_inline(hidden, "Was hidden already.", "200"),
                               **_errors(*_WRITE_ERRORS, "NotFound")}},
        "delete": {"operationId": "showItem", "tags": tags, "security": _BEARER,
                   "summary": "Show a hidden item again (admins)",
                   "parameters": [{**_query("item", iri, "The hidden item."), "required": True}],
                   "responses": {"204": {"description": "Shown again, everywhere."},
                                 **_errors(*errors, "NotFound", "Unprocessable")}},
    }


def _follow_request_paths() -> dict[str, Any]:
    """Follow requests waiting for an actor that approves followers by hand."""
    row = {"type": "object", "required": ["id", "follower", "followee", "state", "created_at"],
           "properties": {"id": {"type": "integer"},
                          "follower": {"type": "string", "format": "uri"},
                          "followee": {"type": "string", "format": "uri"},
                          "state": {"enum": ["pending", "accepted", "rejected"]},
                          "created_at": {"type": "string", "format": "date-time"}}}
    listing = {"type": "object", "required": ["requests"],
               "properties": {"requests": {"type": "array", "items": row}}}
    body = {"type": "object", "required": ["answer"], "additionalProperties": False,
            "properties": {"answer": {"enum": ["accept", "reject"]}}}
    tags = ["federation"]
    return {
        "/api/follow-requests": {"get": {
            "operationId": "listFollowRequests", "tags": tags, "security": _BEARER,
            "summary": "Follow requests waiting for an answer, oldest first",
            "description": "For an admin those of every local actor, for an editor those of the "
                           "initiatives granted to them. A request waits when the followed "
                           "actor approves followers by hand (`manuallyApprovesFollowers`).",
            "responses": {**_inline(listing, "Oldest first."),
                          **_errors("Unauthenticated")}}},
        "/api/follow-requests/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "integer", "minimum": 1}}],
            "post": {"operationId": "answerFollowRequest", "tags": tags, "security": _BEARER,
                     "summary": "Accept or reject a waiting follow request",
                     "description": "`accept` adds the follower and sends `Accept`; `reject` "
                                    "forgets the request and sends `Reject`. 404 when it is "
                                    "not waiting (answered, or withdrawn by an Undo).",
                     "requestBody": {"required": True, "content": {JSON: {"schema": body}}},
                     "responses": {**_inline(row, "Answered."),
                                   **_errors(*_WRITE_ERRORS, "NotFound")}}},
    }
