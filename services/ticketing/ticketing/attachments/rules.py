"""Attachment rules that need no framework.

A file's name is the sender's text and ends up in a ``Content-Disposition``
header, in mail and on an agent's disk, so it is cleaned before it is stored:
- only the last path segment is kept (``C:\\Users\\x\\photo.jpg`` and
  ``../../etc/passwd`` are ``photo.jpg`` and ``passwd``);
- control characters, and the invisible format characters that reorder or
  hide text (``invoice\\u202egpj.exe`` shows as ``invoiceexe.jpg``) go;
- runs of white space become one space; leading dots and spaces go (no
  hidden files), trailing dots and spaces too (Windows drops them);
- Unicode is NFC (one spelling of the same name);
- at most 255 characters, the extension kept when it is cut;
- nothing left is ``attachment``.
The type is never taken from the name (plumbing.blobs detects it).
"""
import re
import unicodedata
from urllib.parse import unquote

from ticketing.contract import MAX_FILENAME_CHARS, attachment_path

FALLBACK_NAME = "attachment"
_SPACE = re.compile(r"\s+")


def safe_filename(name) -> str:
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(" " if char.isspace() else char for char in name
                   if char.isspace() or unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    name = _SPACE.sub(" ", name).lstrip(". ").rstrip(". ")
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and 0 < len(extension) <= 16:
            name = stem[:MAX_FILENAME_CHARS - len(extension) - 1].rstrip(". ") + "." + extension
        else:
            name = name[:MAX_FILENAME_CHARS].rstrip(". ")
    return name or FALLBACK_NAME


_CID_SOURCE = re.compile(r"""\ssrc=(["'])cid:([^"'>]*)\1""", re.IGNORECASE)


def inline_images(html, ticket_id, refs, rows):
    """``html`` (sanitised by the channel that sent it) with each ``src="cid:<id>"`` pointing at the
    download of the attachment whose Content-ID that is (RFC 2392: the id URL-encoded, without <>),
    so an image in a mail shows under the ticket's access rules. ``refs`` are the references the
    rows were made from, in order. A cid no attachment has loses its ``src``."""
    if not html:
        return html
    paths = {ref["content_id"].strip("<>"): attachment_path(ticket_id, row.id)
             for ref, row in zip(refs, rows) if ref.get("content_id")}

    def resolved(found):
        path = paths.get(unquote(found.group(2)).strip().strip("<>"))
        return f' src="{path}"' if path else ""
    return _CID_SOURCE.sub(resolved, html)
