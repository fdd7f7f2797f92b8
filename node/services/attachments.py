"""Uploaded attachments: content sniffing, and a content-addressed store outside the database.

A file is kept as ``<node dir>/attachments/<sha256 hex>`` (the folder ``kennisknoop backup``
already archives). Its type is decided by its bytes, never by its name or the sender's
``Content-Type``: PDF, PNG, JPEG, GIF, WebP, and the ZIP-based ODT, DOCX and XLSX (checked by
what the archive holds). Anything else is refused with 422 ``unsupported_type`` and nothing is
written; the same content uploaded twice is one file.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.services.errors import TooLargeError, ValidationError

FOLDER = "attachments"  # the same name node/backup.py archives
PDF = "application/pdf"
ODT = "application/vnd.oasis.opendocument.text"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
EXTENSIONS = {PDF: "pdf", ODT: "odt", DOCX: "docx", XLSX: "xlsx", "image/png": "png",
              "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
_DIGEST = re.compile(r"[0-9a-f]{64}")
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _sniff_zip(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                declared = archive.read("mimetype")[:100].decode("ascii", "replace").strip()
                return ODT if declared == ODT else None
            if "[Content_Types].xml" in names:
                if any(n.startswith("word/") for n in names):
                    return DOCX
                if any(n.startswith("xl/") for n in names):
                    return XLSX
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        return None
    return None


def sniff(data: bytes) -> str | None:
    """The media type the bytes are, among the accepted ones; None for anything else."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"PK\x03\x04"):
        return _sniff_zip(data)
    return None


def digest_multibase(data: bytes) -> str:
    """The sha2-256 multihash (0x12, 0x20, digest) in multibase base58btc (``z…``)."""
    return _base58(b"\x12\x20" + hashlib.sha256(data).digest())


def _base58(raw: bytes) -> str:
    number = int.from_bytes(raw, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _B58[rest] + out
    return "z" + out  # a multihash never starts with a zero byte, so no leading "1"s


@dataclass(frozen=True)
class Stored:
    sha256: str
    media_type: str
    size: int
    digest_multibase: str


def folder(directory: Path) -> Path:
    return directory / FOLDER


def store(directory: Path, data: bytes, max_bytes: int) -> Stored:
    """Keep ``data`` under its SHA-256 (temp file, then rename); refused: nothing written."""
    if len(data) > max_bytes:
        raise TooLargeError("too_large", f"the file is larger than {max_bytes} bytes")
    media_type = sniff(data)
    if media_type is None:
        raise ValidationError("unsupported_type", "only PDF, ODT, DOCX, XLSX, PNG, JPEG, GIF "
                              "and WebP files are accepted (judged by their content)",
                              field="file")
    sha = hashlib.sha256(data).hexdigest()
    target = folder(directory)
    target.mkdir(parents=True, exist_ok=True)
    path = target / sha
    # Uploaded again: touched, so the grace period of the orphan sweep starts afresh.
    if not touch(path):
        fd, temp = tempfile.mkstemp(dir=target, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    return Stored(sha, media_type, len(data), digest_multibase(data))


def load(directory: Path, sha256: str) -> tuple[bytes, str] | None:
    """A stored file's bytes and (sniffed again) media type; None when there is none."""
    if not _DIGEST.fullmatch(sha256):
        return None
    path = folder(directory) / sha256
    if not path.is_file():
        return None
    data = path.read_bytes()
    media_type = sniff(data)
    return (data, media_type) if media_type else None


def touch(path: Path) -> bool:
    """Mark a stored file as just used; whether it is there.

    The orphan sweep (``services.uploads``) spares a file whose modification time is within the
    grace period and looks again after moving it aside, so a save touches a file *before* it
    checks it: either the sweep sees it young, or the save finds it gone and is refused.
    """
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    return True


def store_image(directory: Path, data: bytes, max_bytes: int) -> Stored:
    """Keep an image (an avatar): PNG, JPEG, GIF or WebP by content, at most ``max_bytes``.

    Anything else (SVG too: it can carry script) is refused with 422 ``not_an_image``, a
    larger one with 413 ``too_large``; nothing is written then.
    """
    if len(data) > max_bytes:
        raise TooLargeError("too_large", f"the image is larger than {max_bytes} bytes")
    if sniff(data) not in IMAGES:
        raise ValidationError("not_an_image", "only PNG, JPEG, GIF and WebP images are accepted "
                              "(judged by their content)", field="avatar")
    return store(directory, data, max_bytes)


def local_sha256(files_base: str, url: str) -> str | None:
    """The SHA-256 that a URL under this node's ``/bestanden/`` names; None for another URL."""
    if not url.startswith(files_base):
        return None
    sha256 = url[len(files_base):]
    return sha256 if _DIGEST.fullmatch(sha256) else None


def describe_avatar(directory: Path, files_base: str, url: str, max_bytes: int) -> str:
    """The media type of an initiative's avatar: an image stored on this node.

    Refused (422, field ``avatar``): a URL naming no file of this node (``unknown_attachment``:
    an avatar is never hotlinked), a file that is no raster image (``not_an_image``), a file
    over ``max_bytes`` (``too_large``).
    """
    sha256 = local_sha256(files_base, url)
    present = sha256 is not None and touch(folder(directory) / sha256)
    media_type = stored_type(directory, sha256) if sha256 and present else None
    if sha256 is None or media_type is None:
        raise ValidationError("unknown_attachment", "the avatar must be an image uploaded to "
                              "this node (POST /api/attachments)", field="avatar")
    if media_type not in IMAGES:
        raise ValidationError("not_an_image", "the avatar must be a PNG, JPEG, GIF or WebP "
                              "image", field="avatar")
    if (folder(directory) / sha256).stat().st_size > max_bytes:
        raise ValidationError("too_large", f"the avatar is larger than {max_bytes} bytes",
                              field="avatar")
    return media_type


def digest_of_hex(sha256: str) -> str:
    """``digest_multibase`` of a file known by its SHA-256 hex (without reading it)."""
    return _base58(b"\x12\x20" + bytes.fromhex(sha256))


def describe_local(directory: Path, files_base: str, fields: dict[str, Any]) -> None:
    """Give attachments uploaded to this node the stored file's media type and digest.

    ``files_base`` is ``<node url>/bestanden/``; what the file is wins over what the request
    said. A URL there naming no stored file is refused (422 ``unknown_attachment``).
    """
    for index, attachment in enumerate(fields.get("attachments") or ()):
        url = attachment.get("url") or ""
        if not url.startswith(files_base):
            continue
        sha256 = url[len(files_base):]
        present = bool(_DIGEST.fullmatch(sha256)) and touch(folder(directory) / sha256)
        media_type = stored_type(directory, sha256) if present else None
        if media_type is None:
            raise ValidationError("unknown_attachment", "no file uploaded under this URL",
                                  field=f"attachments[{index}].url")
        attachment["media_type"] = media_type
        attachment["digest_multibase"] = digest_of_hex(sha256)


def stored_type(directory: Path, sha256: str) -> str | None:
    """The media type of a stored file, from its first bytes; None when there is none."""
    if not _DIGEST.fullmatch(sha256):
        return None
    path = folder(directory) / sha256
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        head = handle.read(16)
    if head.startswith(b"PK"):
        return sniff(path.read_bytes())
    return sniff(head)
