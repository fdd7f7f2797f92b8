"""Request framing shared by both signature flavours: headers, URL parts, HTTP dates, keys, time window.

- :class:`HeaderView`: a read-only, case-insensitive view of request headers. Repeated fields are
  combined with ``", "`` and surrounding whitespace is trimmed, as draft-cavage-12 §2.3 and
  RFC 9421 §2.1 both prescribe.
- :func:`url_parts`: scheme, authority, path and query of a request URL (RFC 9421 §2.2).
- :func:`format_http_date` / :func:`parse_http_date`: the ``Date`` header (RFC 9110 §5.6.7).
- :func:`private_key` / :func:`public_key`: accept ``cryptography`` key objects or PEM text
  (parsed PEM is cached: key material repeats, parsing RSA costs more than verifying).
- :class:`VerifyPolicy` and :func:`check_window`: the freshness rules of Mastodon's inbox.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple, TypeAlias, cast

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from protocol.errors import KeyFormatError, SignatureError
from protocol.keys import load_private_pem, load_verifying_pem

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey: TypeAlias = rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
PrivateKeyLike: TypeAlias = PrivateKey | str | bytes
PublicKeyLike: TypeAlias = PublicKey | str | bytes
HeadersLike: TypeAlias = (
    "Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[tuple[bytes, bytes]] | HeaderView"
)

_OWS = " \t"
# Methods whose requests carry content; Mastodon requires a signed digest on every POST.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class HeaderView(Mapping[str, str]):
    """Case-insensitive, read-only request headers; repeated fields joined with ``", "``.

    Accepts a mapping (``dict``, ``httpx.Headers``, starlette ``Headers``), or an iterable of
    ``(name, value)`` pairs as ``str`` or ``bytes`` (bytes are decoded as Latin-1).
    """

    __slots__ = ("_fields",)

    def __init__(self, headers: HeadersLike) -> None:
        if type(headers) is HeaderView:
            self._fields: dict[str, str] = headers._fields
            return
        pairs: Iterable[tuple[str | bytes, str | bytes]]
        if type(headers) is dict:  # the common case, without the slower checks below
            pairs = headers.items()
        elif hasattr(headers, "multi_items"):  # httpx.Headers: every field line, in order
            pairs = headers.multi_items()
        elif isinstance(headers, Mapping):
            pairs = headers.items()
        else:
            pairs = headers
        fields: dict[str, str] = {}
        for raw_name, raw_value in pairs:
            name = (raw_name if type(raw_name) is str else _text(raw_name)).lower()
            value = (raw_value if type(raw_value) is str else _text(raw_value)).strip(_OWS)
            if name in fields:
                fields[name] = f"{fields[name]}, {value}"
            else:
                fields[name] = value
        self._fields = fields

    def __getitem__(self, name: str) -> str:
        return self._fields[name.lower()]

    def get_field(self, lower_name: str) -> str | None:
        """Return the combined value of an already lower-cased field name, or ``None``."""
        return self._fields.get(lower_name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._fields

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"HeaderView({self._fields!r})"


def _text(raw: str | bytes) -> str:
    return raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)


class UrlParts(NamedTuple):
    """The pieces of a request URL that signatures cover (RFC 9421 §2.2)."""

    scheme: str
    authority: str  # lower-cased host, default port dropped (RFC 9421 §2.2.3)
    path: str  # "/" when the URL has an empty path (RFC 9421 §2.2.6)
    query: str  # without "?"; "" when absent
    has_query: bool

    @property
    def request_target(self) -> str:
        """Origin-form request target: path plus ``?query`` when the URL has one."""
        return f"{self.path}?{self.query}" if self.has_query else self.path


_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#.*)?", re.S)
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


@lru_cache(maxsize=256)
def url_parts(url: str) -> UrlParts:
    """Split an absolute ``http(s)`` URL; raises ``SignatureError("bad_signature_header")``."""
    match = _URL.fullmatch(url)
    if match is None or not match.group(2) or any(c in url for c in "\r\n\t "):
        raise SignatureError("bad_signature_header", f"not an absolute request URL: {url!r}")
    scheme = match.group(1).lower()
    authority = match.group(2).lower()
    if "@" in authority:  # userinfo is never part of the authority component we sign
        authority = authority.rpartition("@")[2]
    default_port = _DEFAULT_PORTS.get(scheme)
    if default_port and authority.endswith(default_port):
        authority = authority[: -len(default_port)]
    query = match.group(4)
    return UrlParts(scheme, authority, match.group(3) or "/", query or "", query is not None)


def needs_digest(method: str, body: bytes | None) -> bool:
    """Whether a request must carry and sign a body digest (any content, or any POST/PUT/PATCH)."""
    return bool(body) or method.upper() in _BODY_METHODS


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {name: number for number, name in enumerate(_MONTHS, start=1)}
_IMF_FIXDATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2}) ([A-Z][a-z]{2}) ([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) GMT"
)


def format_http_date(epoch: float) -> str:
    """Format a Unix time as an IMF-fixdate: ``Sun, 05 Jan 2014 21:31:40 GMT``."""
    return _format_second(int(epoch))


@lru_cache(maxsize=8)  # a busy sender signs many requests within the same second
def _format_second(epoch: int) -> str:
    t = time.gmtime(epoch)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


_TWO_DIGITS = {f"{number:02d}": number for number in range(100)}


@lru_cache(maxsize=32)  # a Date changes its day once a day
def _day_start(day: str, month_name: str, year: str) -> float | None:
    """Unix time of midnight UTC on that day, or ``None`` where ``datetime`` refuses the date."""
    month = _MONTH_NUMBER.get(month_name)
    if month is None:
        return None
    try:
        return datetime(int(year), month, int(day), tzinfo=UTC).timestamp()
    except ValueError:
        return None


@lru_cache(maxsize=64)  # requests from one sender within a second share their Date
def parse_http_date(value: str) -> float:
    """Parse an HTTP ``Date`` into a Unix time; raises ``SignatureError("bad_date")``.

    IMF-fixdate is the fast path (the dates and times ``datetime`` accepts); the obsolete
    RFC 850 and asctime forms that RFC 9110 §5.6.7 requires recipients to accept, and anything
    the fast path refuses, go through ``email.utils``.
    """
    match = _IMF_FIXDATE.fullmatch(value)
    if match is not None:
        day, month_name, year, hour, minute, second = match.groups()
        start = _day_start(day, month_name, year)
        hours, minutes, seconds = _TWO_DIGITS[hour], _TWO_DIGITS[minute], _TWO_DIGITS[second]
        if start is not None and hours < 24 and minutes < 60 and seconds < 60:
            return start + (hours * 3600 + minutes * 60 + seconds)
    parsed = email.utils.parsedate_tz(value)
    if parsed is None or parsed[9] not in (0, None):
        raise SignatureError("bad_date", f"unparseable Date header {value!r}")
    try:
        return float(email.utils.mktime_tz(parsed))
    except (ValueError, OverflowError) as exc:
        raise SignatureError("bad_date", f"unparseable Date header {value!r}") from exc


def epoch_of(now: datetime | None) -> float:
    """Unix time of ``now`` (a naive datetime is taken as UTC), or of the current time."""
    if now is None:
        return time.time()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.timestamp()


# PEM given to sign_request or verify_request is loaded by protocol.keys once per text: a caller
# that passes the same key text with every request pays the parse (45 ms for RSA-2048) once.
_load_private_pem = lru_cache(maxsize=64)(load_private_pem)
_load_public_pem = lru_cache(maxsize=1024)(load_verifying_pem)


# Concrete key class -> "rsa" | "ed25519" | "ec". The key types are ABCs, and isinstance against
# an ABC costs more than the dictionary lookup that replaces it on every later call.
_KINDS: dict[type, str] = {}


def key_kind(key: object) -> str | None:
    """``"rsa"``, ``"ed25519"`` or ``"ec"`` for a ``cryptography`` key object, else ``None``."""
    kind = _KINDS.get(type(key))
    if kind is None:
        if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
            kind = "rsa"
        elif isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
            kind = "ed25519"
        elif isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
            kind = "ec"
        else:
            return None
        _KINDS[type(key)] = kind
    return kind


def private_key(key: PrivateKeyLike) -> PrivateKey:
    """Return a signing key from a key object or PEM text; raises ``KeyFormatError``."""
    if isinstance(key, str):
        key = key.encode("ascii", "replace")
    if isinstance(key, bytes):
        return _load_private_pem(key)
    if key_kind(key) in ("rsa", "ed25519") and not _is_public(key):
        return key
    raise KeyFormatError("unsupported_key", f"cannot sign with a {type(key).__name__}")


def public_key(key: PublicKeyLike) -> PublicKey:
    """Return a verification key from a key object or PEM text; raises ``KeyFormatError``."""
    if isinstance(key, str):
        key = key.encode("ascii", "replace")
    if isinstance(key, bytes):
        return _load_public_pem(key)
    if key_kind(key) is not None and _is_public(key):
        return key
    raise KeyFormatError("unsupported_key", f"cannot verify with a {type(key).__name__}")


_PUBLIC: dict[type, bool] = {}


def _is_public(key: object) -> bool:
    public = _PUBLIC.get(type(key))
    if public is None:
        public = _PUBLIC[type(key)] = isinstance(
            key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
        )
    return public


@dataclass(frozen=True, slots=True)
class VerifyPolicy:
    """What :func:`protocol.httpsig.verify_request` accepts; the defaults are Mastodon's.

    A signature was made at ``created`` (``(created)``/``created`` when signed, else the signed
    ``Date``) and lives until its signed expiry, else ``max_age`` after ``created``, never more
    than ``max_lifetime``. ``clock_skew`` is allowed on both ends: refused when ``created`` is
    more than ``clock_skew`` ahead, or ``now`` is more than ``clock_skew`` past the expiry.
    """

    max_age: timedelta = timedelta(minutes=5)
    clock_skew: timedelta = timedelta(hours=1)
    max_lifetime: timedelta = timedelta(hours=12)
    #: Smallest RSA modulus verify_request accepts (the low-level functions accept any).
    min_rsa_bits: int = 2048
    # The same durations in seconds, computed once: check_window runs on every request.
    _seconds: tuple[float, float, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        seconds = (
            self.max_age.total_seconds(),
            self.clock_skew.total_seconds(),
            self.max_lifetime.total_seconds(),
        )
        object.__setattr__(self, "_seconds", seconds)


DEFAULT_POLICY = VerifyPolicy()


def check_window(created: float, expires: float | None, now: float, policy: VerifyPolicy) -> None:
    """Raise ``date_in_future`` or ``signature_expired`` unless ``now`` is inside the window.

    interop(mastodon): app/controllers/concerns/signature_verification.rb ``matches_time_window?``:
    expiry at created + 5 min (or the signed expiry, capped at 12 h), plus 1 h of clock skew.
    """
    max_age, skew, max_lifetime = policy._seconds
    if created > now + skew:
        raise SignatureError("date_in_future", "the signature was created in the future")
    end = created + max_age if expires is None else expires
    if now > min(end, created + max_lifetime) + skew:
        raise SignatureError("signature_expired", "the signature is too old or has expired")


def check_key_strength(key: PublicKey, policy: VerifyPolicy) -> None:
    """Refuse RSA keys shorter than the policy allows (``key_mismatch``)."""
    if key_kind(key) != "rsa":
        return
    bits = cast(rsa.RSAPublicKey, key).key_size
    if bits < policy.min_rsa_bits:
        raise SignatureError(
            "key_mismatch", f"RSA key of {bits} bits is shorter than {policy.min_rsa_bits}"
        )


def verification_key(key: PublicKeyLike, policy: VerifyPolicy) -> tuple[PublicKey, str]:
    """:func:`public_key` and :func:`check_key_strength` in one step; also returns the key's
    kind (``"rsa"``, ``"ed25519"`` or ``"ec"``), which the verifiers dispatch on."""
    kind = _KINDS.get(type(key))
    if kind is not None and _PUBLIC.get(type(key)):  # a public key object of a known class
        verifier = cast(PublicKey, key)
    else:
        verifier = public_key(key)
        kind = cast(str, key_kind(verifier))
    if kind == "rsa":
        check_key_strength(verifier, policy)
    return verifier, kind
