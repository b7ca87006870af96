"""Files uploaded with a request as ``multipart/form-data`` (a message's attachments), streamed
into the blob store (``plumbing.blobs``) as they arrive: a piece of 64 KiB in memory at a time,
never a whole file, however large. ``api.ApiEntrypoint`` reads a route's body this way when the
route declares ``uploads=Uploads(...)`` and the request is multipart.

Refusals are ``ApiError``s naming the limit: a file too large (413, ``limit_bytes``), one file too
many (413, ``limit_files``), text fields or the whole body too large (413), a file part under
another name or a field given twice (400), a body that is not multipart (400
``malformed_multipart``). The file being written when a refusal comes leaves nothing behind;
files stored before it stay in the store (stored once by content: harmless, collected later).
"""
from dataclasses import dataclass

from eventlet import tpool
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from gateway.errors import ApiError
from plumbing.blobs import CHUNK_BYTES, TooLarge, describe_size

MULTIPART_FIELDS = 50  # text fields of a multipart body, beside its files


@dataclass(frozen=True)
class Uploads:
    """A route that takes files: its text fields are the body (checked by the route's body schema),
    each file part named ``field`` goes to the blob store and the body gets the files' references
    (``sha256``, ``size``, ``content_type``, ``filename``) under ``field``, which the route's RPC
    takes. At most ``max_files`` files of ``max_file_bytes`` each."""
    field: str
    max_files: int
    max_file_bytes: int

    def max_body(self, fields_bytes):
        """The largest multipart body that can be within the limits (the boundaries' bytes included)."""
        return self.max_files * self.max_file_bytes + fields_bytes


def too_large(message, **limit):
    return ApiError(413, "payload_too_large", message, limit)


def invalid(name, problem):
    return ApiError(400, "invalid_input", "request failed validation", {name: [problem]})


class MultipartReader:
    """Reads one body: ``read(stream, boundary)`` -> (the text fields, the files' references)."""

    def __init__(self, uploads, store, fields_limit, body_limit):
        self.uploads, self.store = uploads, store
        self.fields_limit, self.body_limit = fields_limit, body_limit
        self.form, self.files = {}, []
        self.part = self.writer = None
        self.value, self.text_bytes = bytearray(), 0

    def read(self, stream, boundary):
        decoder = MultipartDecoder(boundary.encode("latin-1"), max_form_memory_size=4 * CHUNK_BYTES,
                                   max_parts=self.uploads.max_files + MULTIPART_FIELDS)
        received = 0
        try:
            while True:
                chunk = stream.read(CHUNK_BYTES)
                received += len(chunk)
                if received > self.body_limit:  # a chunked body has no length to refuse it by beforehand
                    raise too_large(f"body larger than this route's limit of {describe_size(self.body_limit)}",
                                    limit_bytes=self.body_limit)
                decoder.receive_data(chunk or None)
                while not isinstance(event := decoder.next_event(), NeedData):
                    if isinstance(event, Epilogue):
                        return self.form, self.files
                    self.take(event)
        except TooLarge as exc:
            raise too_large(f"file {self.part.filename!r} is {exc}: at most {describe_size(exc.max_bytes)} a file",
                            limit_bytes=exc.max_bytes) from None
        except RequestEntityTooLarge:
            parts = self.uploads.max_files + MULTIPART_FIELDS
            raise too_large(f"more than {parts} parts, or a part's headers too large", limit_parts=parts) from None
        except ValueError as exc:
            raise ApiError(400, "malformed_multipart", f"body is not valid multipart/form-data: {str(exc)[:200]}"
                           ) from None
        finally:
            if self.writer is not None:
                self.writer.discard()

    def take(self, event):
        uploads = self.uploads
        if isinstance(event, File):
            if event.name != uploads.field:
                raise invalid(event.name, f"files are parts named {uploads.field}")
            if len(self.files) == uploads.max_files:
                raise too_large(f"more than {uploads.max_files} files: at most {uploads.max_files} a message",
                                limit_files=uploads.max_files)
            self.part, self.writer = event, self.store.writer(uploads.max_file_bytes)
        elif isinstance(event, Field):
            if event.name in self.form or event.name == uploads.field:
                raise invalid(event.name, "given twice" if event.name in self.form else "must be a file part")
            self.part, self.writer, self.value = event, None, bytearray()
        elif isinstance(event, Data):
            if self.writer is not None:
                self.writer.write(event.data)
            else:
                self.text_bytes += len(event.data)
                if self.text_bytes > self.fields_limit:
                    raise too_large(f"text fields larger than this route's limit of {describe_size(self.fields_limit)}",
                                    limit_bytes=self.fields_limit)
                self.value += event.data
            if not event.more_data:
                self.end_of_part()

    def end_of_part(self):
        if self.writer is None:
            try:
                self.form[self.part.name] = self.value.decode("utf-8")
            except UnicodeDecodeError:
                raise invalid(self.part.name, "must be UTF-8 text") from None
            return
        # fsync and rename in a thread: a disk flush of MiB would stall every other request
        ref = tpool.execute(self.writer.finish)
        self.writer = None
        if self.part.filename or ref.size:  # a form's empty file input sends neither
            self.files.append(dict(ref.as_dict(), filename=self.part.filename))
