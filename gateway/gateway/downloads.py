"""Serving a stored file (an attachment) so that a browser can do it no harm.

- ``Content-Type`` is the type the blob store detected from the content, never one from the
  name; ``X-Content-Type-Options: nosniff`` stops a browser guessing another (an HTML page
  uploaded as ``photo.png`` stays ``text/plain`` and is not run).
- ``Content-Disposition: attachment`` (a download), except for the raster image types of
  ``contract.INLINE_TYPES``, which show in place. SVG is never among them: it carries script.
- ``Content-Security-Policy: default-src 'none'; sandbox``: if anything were rendered
  anyway, it could load nothing and run nothing.
- The name as RFC 6266 says: a plain ASCII ``filename`` for old clients, and
  ``filename*=UTF-8''...`` (RFC 5987) with the real name when it is not ASCII.
- ``Cache-Control: private``: it is behind the ticket's access rules, so no shared cache keeps it.
"""
import unicodedata
from urllib.parse import quote

from werkzeug.wrappers import Response
from werkzeug.wsgi import FileWrapper

from plumbing.blobs import CHUNK_BYTES
from ticketing.contract import INLINE_TYPES

# RFC 5987 attr-char: what may stay unencoded in filename*
ATTR_CHARS = "!#$&+-.^_`|~"


def content_disposition(disposition, filename) -> str:
    """``attachment; filename="..."`` and, for a name that is not plain ASCII, ``filename*``."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    fallback = "".join(char if 0x20 <= ord(char) < 0x7f and char not in '"\\' else "_" for char in fallback)
    fallback = " ".join(fallback.split())
    stem, dot, extension = fallback.rpartition(".")
    if not (stem if dot else extension).strip(" ._"):  # nothing of the name was ASCII: say what it is
        fallback = "attachment" + (f".{extension}" if dot and extension else "")
    value = f'{disposition}; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe=ATTR_CHARS)}"
    return value


def media_type(content_type) -> str:
    """What ``Content-Type`` says: text the store found to be UTF-8 is served as such."""
    return f"{content_type}; charset=utf-8" if content_type == "text/plain" else content_type


def file_response(stored, attachment) -> Response:
    """The answer streaming ``stored`` (an open binary file) in pieces, described by ``attachment``
    (``contract.AttachmentSchema``)."""
    inline = attachment["content_type"] in INLINE_TYPES
    response = Response(FileWrapper(stored, CHUNK_BYTES), status=200, direct_passthrough=True,
                        content_type=media_type(attachment["content_type"]))
    response.headers.update({
        "Content-Length": str(attachment["size"]),
        "Content-Disposition": content_disposition("inline" if inline else "attachment", attachment["filename"]),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=0, must-revalidate",
        "ETag": f'"{attachment["sha256"]}"',
    })
    return response
