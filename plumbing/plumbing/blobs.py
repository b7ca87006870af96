"""Files (attachments) stored once by the hash of their content, on the filesystem.

The gateway, ticketing and channels share one directory (``BLOB_DIR``; default
``<CSOPS_VAR_DIR>/blobs``, i.e. ``var/blobs``; a named volume in compose): a
file arriving by upload or by mail is written here once and from then on only
its reference (sha256, size, content type) travels in RPCs and events, so a
payload never rides inside an AMQP message.

- ``put`` streams: the content is written to a temporary file in the store while
  it is hashed and counted, so a 25 MiB file costs a 64 KiB buffer, not 25 MiB
  of memory. Past ``max_bytes`` it stops reading, deletes the partial file and
  raises ``TooLarge``.
- The finished file is renamed into ``<root>/ab/cd/<sha256>`` (``os.replace``:
  atomic on one filesystem, so a reader sees the whole file or none); the same
  content uploaded twice is one file. A crash leaves at most a temporary file
  under ``<root>/tmp``, never a half-written blob under its hash.
- The type comes from the content (magic numbers, ``filetype``), never from the
  name the sender gave: an ``.png`` that is an HTML page is not an image. What
  no signature matches is ``text/plain`` when it is valid UTF-8 without NUL
  bytes, else ``application/octet-stream``. HTML and SVG are therefore
  ``text/plain`` here: the gateway serves them as attachments with ``nosniff``.
"""
import codecs
import hashlib
import io
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import filetype


CHUNK_BYTES = 64 * 1024
SIGNATURE_BYTES = 8192  # what filetype's matchers look at (office documents need the zip's first entries)
OCTET_STREAM = "application/octet-stream"
TEXT_PLAIN = "text/plain"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class TooLarge(ValueError):
    """The content is larger than the limit; nothing was stored."""

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        super().__init__(f"larger than the limit of {describe_size(max_bytes)} ({max_bytes} bytes)")


class UnknownBlob(LookupError):
    """No blob has this hash."""


@dataclass(frozen=True)
class BlobRef:
    """What travels instead of the content."""
    sha256: str
    size: int
    content_type: str

    def as_dict(self):
        return asdict(self)


def describe_size(size):
    """``26214400`` -> ``"25 MiB"``; sizes that are not whole MiB or KiB stay in bytes."""
    for unit, factor in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def blob_dir(config=None) -> Path:
    """The nameko config's ``BLOB_DIR``, else the environment's, else ``blobs`` under
    ``CSOPS_VAR_DIR`` (``var/blobs``, where plumbing.config keeps the SQLite files)."""
    configured = (config or {}).get("BLOB_DIR") or os.environ.get("BLOB_DIR")
    # made when the first file is written, not by asking where it is
    return Path(configured) if configured else Path(os.environ.get("CSOPS_VAR_DIR", "var")) / "blobs"


def is_sha256(value) -> bool:
    return isinstance(value, str) and bool(_SHA256.match(value))


def detect_content_type(head: bytes, is_utf8_text: bool) -> str:
    """The MIME type from the first bytes; ``is_utf8_text`` says whether the whole content decoded."""
    kind = filetype.guess(head) if head else None
    if kind is not None:
        return kind.mime
    return TEXT_PLAIN if is_utf8_text else OCTET_STREAM


class BlobStore:
    def __init__(self, root=None):
        self.root = Path(root) if root is not None else blob_dir()

    @classmethod
    def from_config(cls, config):
        return cls(blob_dir(config))

    def path(self, sha256) -> Path:
        if not is_sha256(sha256):
            raise UnknownBlob(f"not a sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256) -> bool:
        try:
            return self.path(sha256).is_file()
        except UnknownBlob:
            return False

    def open(self, sha256):
        """The stored content as a binary file (the caller closes it)."""
        try:
            return io.open(self.path(sha256), "rb")
        except FileNotFoundError:
            raise UnknownBlob(f"no blob {sha256}") from None

    def delete(self, sha256) -> bool:
        """Remove a file (an erasure: ``ticketing.customers``, channels' raw mail); True if there was one.
        The caller makes sure nothing still names it: the store counts no references."""
        try:
            self.path(sha256).unlink()
        except (FileNotFoundError, UnknownBlob):
            return False
        return True

    def size(self, sha256) -> int:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            raise UnknownBlob(f"no blob {sha256}") from None

    def problem(self, sha256, size, content_type) -> str | None:
        """Why a reference (from a caller, by RPC) does not describe a stored blob, or None: it must
        exist with that size, and a type its first bytes show must be the one claimed (a caller
        cannot make an HTML page an image by saying so)."""
        try:
            with self.open(sha256) as stored:
                actual = os.fstat(stored.fileno()).st_size
                head = stored.read(SIGNATURE_BYTES)
        except UnknownBlob:
            return "no such file in the blob store"
        if actual != size:
            return f"the stored file has {actual} bytes, not {size}"
        kind = filetype.guess(head) if head else None
        if kind is not None and kind.mime != content_type:
            return f"the stored file is {kind.mime}, not {content_type}"
        if kind is None and content_type not in (TEXT_PLAIN, OCTET_STREAM):
            return f"the stored file is not {content_type}"
        return None

    def put(self, fileobj, max_bytes) -> BlobRef:
        """Store what ``fileobj.read`` yields (bytes) up to ``max_bytes``; TooLarge past that."""
        writer = self.writer(max_bytes)
        try:
            while True:
                # one byte more than the limit allows is enough to know it is too large
                chunk = fileobj.read(min(CHUNK_BYTES, max_bytes - writer.size + 1))
                if not chunk:
                    break
                writer.write(chunk)
            return writer.finish()
        finally:
            writer.discard()

    def writer(self, max_bytes) -> "BlobWriter":
        """A blob written piece by piece (as a multipart upload arrives): ``write`` each piece,
        then ``finish`` for the reference; ``discard`` (a no-op once finished) on any failure."""
        return BlobWriter(self, max_bytes)


class BlobWriter:
    """One blob being written: to a temporary file in the store, hashed, counted and checked
    for text as it comes, so that nothing holds more than one piece in memory."""

    def __init__(self, store, max_bytes):
        self.store, self.max_bytes = store, max_bytes
        scratch = store.root / "tmp"
        scratch.mkdir(parents=True, exist_ok=True)
        handle, self.temp_name = tempfile.mkstemp(dir=scratch, prefix="put-")
        self.out = os.fdopen(handle, "wb")
        self.digest = hashlib.sha256()
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.text = True
        self.head = bytearray()
        self.size = 0
        self.ref = None

    def write(self, chunk):
        self.size += len(chunk)
        if self.size > self.max_bytes:
            self.discard()
            raise TooLarge(self.max_bytes)
        self.digest.update(chunk)
        if len(self.head) < SIGNATURE_BYTES:
            self.head += chunk[:SIGNATURE_BYTES - len(self.head)]
        if self.text:
            self.text = b"\x00" not in chunk and _decodes(self.decoder, chunk, final=False)
        self.out.write(chunk)
        return len(chunk)

    def finish(self) -> BlobRef:
        """Rename the file into place under its hash (or drop it: that content is stored already)."""
        if self.ref is not None:
            return self.ref
        self.out.flush()
        os.fsync(self.out.fileno())
        self.out.close()
        text = self.text and _decodes(self.decoder, b"", final=True)
        sha256 = self.digest.hexdigest()
        target = self.store.path(sha256)
        if target.is_file():
            os.unlink(self.temp_name)  # the same content is stored once
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(self.temp_name, 0o640)
            os.replace(self.temp_name, target)
        self.ref = BlobRef(sha256=sha256, size=self.size,
                           content_type=detect_content_type(bytes(self.head), text))
        return self.ref

    def discard(self):
        """Forget a blob not finished: its temporary file goes."""
        if self.ref is not None:
            return
        self.out.close()
        if os.path.exists(self.temp_name):
            os.unlink(self.temp_name)


def _decodes(decoder, chunk, final):
    try:
        decoder.decode(chunk, final)
        return True
    except UnicodeDecodeError:
        return False


def default_store() -> BlobStore:
    return BlobStore()


def put(fileobj, max_bytes) -> BlobRef:
    return default_store().put(fileobj, max_bytes)


def open(sha256):  # noqa: A001 - the store's verb; the module uses io.open
    return default_store().open(sha256)


def exists(sha256) -> bool:
    return default_store().exists(sha256)
