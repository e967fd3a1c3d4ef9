"""What the portal takes as an attachment: at most a few PDF, JPEG or PNG files of bounded size. Pure.

The type is decided by the file's first bytes (its signature), not by the name or the
Content-Type the browser sent, so a renamed program is refused. Signatures: PDF "%PDF-"
(ISO 32000-1 §7.5.2), JPEG SOI FF D8 FF (ITU T.81), PNG's 8-byte signature (RFC 2083 §3.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SIGNATURES: tuple[tuple[bytes, str, tuple[str, ...]], ...] = (
    (b"%PDF-", "application/pdf", (".pdf",)),
    (b"\xff\xd8\xff", "image/jpeg", (".jpg", ".jpeg")),
    (b"\x89PNG\r\n\x1a\n", "image/png", (".png",)),
)
ALLOWED_WORDS = "PDF, JPG hoặc PNG"


class AttachmentRefused(ValueError):
    """The message is Vietnamese and names the file."""


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class AcceptedFile:
    filename: str
    content_type: str
    content: bytes = field(repr=False)


def sniff_type(content: bytes) -> tuple[str, tuple[str, ...]] | None:
    for signature, content_type, extensions in SIGNATURES:
        if content.startswith(signature):
            return content_type, extensions
    return None


def _display_name(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "".join(c for c in name if c.isprintable())[:150] or "tep-dinh-kem"


def check_attachments(files: list[UploadedFile], *, max_files: int, max_bytes: int) -> list[AcceptedFile]:
    """The files as they will be kept, or AttachmentRefused for the first one that cannot be."""
    files = [f for f in files if f.content or f.filename]  # an empty file input sends nothing
    if len(files) > max_files:
        raise AttachmentRefused(f"chỉ được gửi tối đa {max_files} tệp đính kèm (đã chọn {len(files)})")
    accepted = []
    for upload in files:
        name = _display_name(upload.filename)
        if not upload.content:
            raise AttachmentRefused(f"tệp {name!r} trống")
        if len(upload.content) > max_bytes:
            raise AttachmentRefused(f"tệp {name!r} lớn quá {max_bytes // (1024 * 1024) or 1} MB")
        found = sniff_type(upload.content)
        if found is None:
            raise AttachmentRefused(f"tệp {name!r} không phải {ALLOWED_WORDS}")
        content_type, extensions = found
        if not name.lower().endswith(extensions):
            name = name.rsplit(".", 1)[0] + extensions[0]
        accepted.append(AcceptedFile(name, content_type, upload.content))
    return accepted
