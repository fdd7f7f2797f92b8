"""Flood limits of the inboxes: token buckets per remote host and per process, a backlog cap.

The issue "Hardening": one peer — or someone pretending to be many — must not be able to keep the
node busy or fill its disk. Three limits, checked before any expensive work (reading the body,
fetching keys, checking signatures):

1. a token bucket for each remote host, keyed by the host of the signature's ``keyId``
   (``limits.inbox_rate_per_host`` requests per second, bursts of ``limits.inbox_burst_per_host``);
   the key id is not verified yet — that is the point — so the buckets live in a bounded LRU
   map (``MAX_HOSTS``): a flood from ever-new made-up hosts cannot grow memory;
2. one bucket shared by every request from a host that has not yet sent a verified activity to
   this process — strangers, made-up hosts, unsigned requests — (``limits.inbox_rate_total`` /
   ``limits.inbox_burst_total``): that is what stops a flood from ever-new made-up hosts, while
   known peers, each held to its own bucket, cannot be starved by it. It is looked at first
   (cheap: no parsing) but charged only once the host's bucket admitted the request, so a
   stranger refused by its own bucket does not drain everyone's;
3. at most ``limits.inbox_pending_per_host`` received-but-not-yet-applied rows per host in the
   ``inbox`` table (one indexed query), so a peer that sends faster than the worker applies
   cannot fill the disk. A process counts in the database at least every ``RECOUNT_EVERY``
   admissions per host, and whenever its own figure (the last count plus what it admitted
   since) reaches the cap: exact in one process, fewer than ``RECOUNT_EVERY`` past the cap per
   further web process (``PendingCounts``).

A refused request gets 429 (rate) or 503 (backlog) with ``Retry-After``: the sender retries, as
ours does (``node.services.delivery``), so a valid activity is delayed, never silently lost.

Buckets are in memory, per process, driven by the node's clock (``ctx.clock``, so tests are
deterministic). With several web processes the effective rate is that many times the setting
(docs/security.md says so; ``serve`` logs the multiplied figure at start-up, ``startup_line``,
with ``server.web_processes``); the backlog cap is counted in the database and holds for all of
them, within fewer than ``RECOUNT_EVERY`` per further process.
"""

from __future__ import annotations

import math
from collections import OrderedDict

from node.config import Settings
from node.services.context import NodeContext
from node.services.errors import ServiceError
from node.services.inbox import uncommitted_from
from node.store import inbox as inbox_store
from protocol.errors import DocumentError, SignatureError
from protocol.httpsig import SignedRequest
from protocol.origin import authority_of

MAX_HOSTS = 10_000  # hosts in each map (buckets, known hosts): ~4 MB in all when both are full
BACKLOG_RETRY_SECONDS = 60  # the worker applies hundreds of rows a minute: look again then
RECOUNT_EVERY = 16  # admissions per host between two counts in the database, at most


class RetryLaterError(ServiceError):
    """A request refused for now; the answer carries ``Retry-After: retry_after`` (seconds)."""

    status = 429

    def __init__(self, reason: str, detail: str, *, retry_after: int) -> None:
        super().__init__(reason, detail)
        self.retry_after = retry_after


class RateLimitedError(RetryLaterError):
    status = 429
    default_reason = "rate_limited"


class BacklogFullError(RetryLaterError):
    status = 503
    default_reason = "inbox_backlog"


class TokenBucket:
    """``burst`` tokens at most, refilled at ``rate`` per second; one request takes one."""

    __slots__ = ("stamp", "tokens")

    def __init__(self, burst: float, now: float) -> None:
        self.tokens = burst
        self.stamp = now

    def refill(self, rate: float, burst: float, now: float) -> None:
        # A clock that steps back (NTP) must not mint tokens or make the bucket negative.
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(burst, self.tokens + elapsed * rate)
        self.stamp = max(self.stamp, now)


def _wait(tokens: float, rate: float) -> float:
    return 0.0 if tokens >= 1.0 else (1.0 - tokens) / rate


class TokenBuckets:
    """One token bucket per key, the ``max_keys`` most recently used kept (LRU).

    A forgotten key comes back with a full bucket; at worst that gives one burst more to a key
    pushed out by a flood of others, which the process-wide bucket still bounds.
    """

    def __init__(self, rate: float, burst: float, *, max_keys: int = MAX_HOSTS) -> None:
        if rate <= 0 or burst < 1 or max_keys < 1:
            raise ValueError("rate must be > 0, burst >= 1 and max_keys >= 1")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def _bucket(self, key: str, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.burst, now)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.refill(self.rate, self.burst, now)
        return bucket

    def wait(self, key: str, now: float) -> float:
        """Seconds until ``key`` has a token (0: it has one now); takes nothing."""
        return _wait(self._bucket(key, now).tokens, self.rate)

    def take(self, key: str, now: float) -> float:
        """Take a token of ``key``: 0 when taken, else the seconds until one is there."""
        bucket = self._bucket(key, now)
        wait = _wait(bucket.tokens, self.rate)
        if not wait:
            bucket.tokens -= 1.0
        return wait


class PendingCounts:
    """Each host's backlog as this process last counted it, to skip most counts in the database.

    A host's figure is its last count (``uncommitted_from`` + ``count_pending``) plus every
    request of that host admitted here since, valid or not (admitting is before verifying, so
    the figure can only be too high). A count in the database is skipped while the figure is
    below the cap and fewer than ``every`` requests were admitted on it; a request is refused only
    on a count. The worker only lowers the true backlog, so with one web process the figure is
    never below it (requests one at a time; those in flight while the database is counted are
    missed, as before) and the cap holds exactly. Another process's admissions are not in it:
    after a count that admitted, a process admits at most ``every - 1`` requests of the host
    without counting, and the one that counted last stops at the cap by its own figure, so the
    backlog passes the cap by at most ``(every - 1) x (web_processes - 1)`` (plus, as before,
    what other processes have in flight or not yet committed; docs/performance.md, "Inbox accept
    in-line").
    Hosts kept: the ``max_hosts`` most recently admitted (a forgotten one is counted again).
    """

    def __init__(self, *, every: int = RECOUNT_EVERY, max_hosts: int = MAX_HOSTS) -> None:
        self.every = every
        self.max_hosts = max_hosts
        # host -> [admitted in all (never reset), the last count, "admitted in all" before it]
        self._hosts: OrderedDict[str, list[int]] = OrderedDict()

    def figure(self, host: str, cap: int) -> bool:
        """Admit one request of ``host`` without counting when its figure allows it."""
        held = self._hosts.get(host)
        if held is None:
            return False
        self._hosts.move_to_end(host)
        admitted, counted, mark = held
        since = admitted - mark
        if since >= self.every or counted + since >= cap:
            return False
        held[0] += 1
        return True

    def mark(self, host: str) -> int:
        """Before counting in the database: ``host``'s admissions so far (for ``counted``)."""
        held = self._hosts.get(host)
        return 0 if held is None else held[0]

    def counted(self, host: str, pending: int, mark: int, *, admitted: bool) -> None:
        """The database counted ``pending`` for ``host``; ``mark`` from ``mark`` before the count
        (requests admitted while it ran are added to the figure); ``admitted``: this one too."""
        held = self._hosts.get(host)
        total = mark if held is None else held[0]
        self._hosts[host] = [total + admitted, pending, mark]
        self._hosts.move_to_end(host)
        if len(self._hosts) > self.max_hosts:
            self._hosts.popitem(last=False)


class InboxLimits:
    """The flood limits of one node's inboxes in this process (made by ``create_app``)."""

    TOTAL = ""  # the key of the one bucket of the strangers

    def __init__(self, *, rate_per_host: int, burst_per_host: int, rate_total: int,
                 burst_total: int, pending_per_host: int, max_hosts: int = MAX_HOSTS) -> None:
        # 0 turns a limit off (an operator behind a proxy that limits already, or a benchmark).
        self.per_host = (TokenBuckets(rate_per_host, max(1, burst_per_host), max_keys=max_hosts)
                         if rate_per_host > 0 else None)
        self.total = (TokenBuckets(rate_total, max(1, burst_total), max_keys=1)
                      if rate_total > 0 else None)
        self.pending_per_host = pending_per_host
        self.pending = PendingCounts(max_hosts=max_hosts)
        self.max_hosts = max_hosts
        self._known: OrderedDict[str, None] = OrderedDict()  # hosts verified here, LRU

    @classmethod
    def from_settings(cls, settings: Settings, *, max_hosts: int = MAX_HOSTS) -> InboxLimits:
        limits = settings.limits
        return cls(rate_per_host=limits.inbox_rate_per_host,
                   burst_per_host=limits.inbox_burst_per_host,
                   rate_total=limits.inbox_rate_total, burst_total=limits.inbox_burst_total,
                   pending_per_host=limits.inbox_pending_per_host, max_hosts=max_hosts)

    def known(self, host: str | None) -> bool:
        """Whether ``host`` has sent a verified activity to this process (recently)."""
        return host is not None and host in self._known

    def vouch(self, host: str | None) -> None:
        """Remember that a request from ``host`` passed verification (it has its own bucket)."""
        if host is None:
            return
        self._known[host] = None
        self._known.move_to_end(host)
        if len(self._known) > self.max_hosts:
            self._known.popitem(last=False)

    def admit(self, host: str | None, now: float) -> None:
        """Charge one request from ``host`` (None: no readable key id) or raise RateLimitedError."""
        total = None if self.known(host) else self.total
        if total is not None and (wait := total.wait(self.TOTAL, now)):
            raise RateLimitedError("rate_limited", "this node receives too many requests from "
                                   "unknown hosts right now", retry_after=_seconds(wait))
        if host is not None and self.per_host is not None and (
                wait := self.per_host.take(host, now)):
            raise RateLimitedError(
                "rate_limited", f"at most {self.per_host.rate:g} requests per second (bursts of "
                f"{self.per_host.burst:g}) are accepted from {host}", retry_after=_seconds(wait))
        if total is not None:
            total.take(self.TOTAL, now)  # no await since the look: the token is still there


def startup_line(settings: Settings) -> str:
    """What ``kennisknoop serve`` logs at start-up: the flood limits are per process, and what
    they add up to with ``server.web_processes`` processes (the node cannot count them)."""
    limits, processes = settings.limits, settings.server.web_processes

    def bucket(rate: int, burst: int, times: int) -> str:
        if rate <= 0:
            return "no limit"
        return f"{rate * times}/s (bursts of {max(1, burst) * times})"

    def both(times: int) -> str:
        return (f"{bucket(limits.inbox_rate_per_host, limits.inbox_burst_per_host, times)} per "
                f"remote host, {bucket(limits.inbox_rate_total, limits.inbox_burst_total, times)}"
                " from hosts not yet verified")

    pending = (f"at most {limits.inbox_pending_per_host} activities waiting per host"
               if limits.inbox_pending_per_host > 0 else "no backlog cap")
    return (f"inbox flood limits are kept per web process: {both(1)}; with "
            f"server.web_processes = {processes} the node accepts up to {both(processes)} "
            f"(web_processes x the per-process figure); the backlog cap ({pending}) is kept "
            "in the database and holds for all processes together, within "
            f"{RECOUNT_EVERY - 1} more per further process")


def _seconds(wait: float) -> int:
    return max(1, math.ceil(wait))


def claimed_host(signature: SignedRequest | SignatureError) -> str | None:
    """The host of the signature's ``keyId``, not verified; None when there is none to read.

    An unreadable signature is refused later, by the verifier, with its precise reason.
    """
    if isinstance(signature, SignatureError):
        return None
    try:
        return authority_of(signature.key_id)
    # ValueError: urlsplit's, which authority_of lets through for some hosts ("https://[").
    except (DocumentError, ValueError):
        return None


async def admit_inbox(ctx: NodeContext, limits: InboxLimits,
                      signature: SignedRequest | SignatureError) -> str | None:
    """Refuse an inbox request before any expensive work if its host or the node is flooded.

    Returns the claimed host (to ``vouch`` for once the request is verified). Raises
    RateLimitedError (429) past a bucket, BacklogFullError (503) when the host already has
    ``limits.inbox_pending_per_host`` activities waiting to be applied.
    """
    host = claimed_host(signature)
    limits.admit(host, ctx.clock().timestamp())
    if host is None or limits.pending_per_host <= 0:
        return host
    if limits.pending.figure(host, limits.pending_per_host):
        return host  # below the cap as this process last counted it (``PendingCounts``)
    mark = limits.pending.mark(host)
    # Accepted but not committed yet (a group commit under way) counts too: counted before the
    # read, so a group that commits meanwhile may count twice, never not at all.
    uncommitted = uncommitted_from(ctx, host)
    pending = uncommitted + await inbox_store.count_pending(ctx.db, host,
                                                            limit=limits.pending_per_host)
    full = pending >= limits.pending_per_host
    limits.pending.counted(host, pending, mark, admitted=not full)
    if full:
        raise BacklogFullError(
            "inbox_backlog", f"{pending} activities from {host} are still waiting to be "
            "applied; send more later", retry_after=BACKLOG_RETRY_SECONDS)
    return host
