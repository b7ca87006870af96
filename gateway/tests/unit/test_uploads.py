"""A multipart body read piece by piece into the blob store (gateway.uploads), without a server:
fields and files come apart, each refusal names its limit or field, and nothing half written stays."""
import io

import pytest

from gateway.errors import ApiError
from gateway.uploads import MultipartReader, Uploads
from plumbing.blobs import BlobStore

BOUNDARY = "b0undary"
UPLOADS = Uploads("attachments", max_files=2, max_file_bytes=1000)


def body(*parts, end=True):
    """Parts as (name, value) for fields and (name, filename, bytes) for files."""
    out = b""
    for part in parts:
        disposition = f'form-data; name="{part[0]}"' + (f'; filename="{part[1]}"' if len(part) == 3 else "")
        value = part[-1] if isinstance(part[-1], bytes) else part[-1].encode()
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    return out + (f"--{BOUNDARY}--\r\n".encode() if end else b"")


class Trickle(io.RawIOBase):
    """Hands out a few bytes a read, as a slow client's body arrives."""

    def __init__(self, data, step=5):
        self.data, self.step = data, step

    def read(self, size=-1):
        chunk, self.data = self.data[:self.step], self.data[self.step:]
        return chunk


@pytest.fixture
def store(tmp_path):
    return BlobStore(tmp_path / "blobs")


def read(store, data, fields_limit=100, body_limit=10_000):
    return MultipartReader(UPLOADS, store, fields_limit, body_limit).read(Trickle(data), BOUNDARY)


def refusal(store, data, **limits):
    with pytest.raises(ApiError) as refused:
        read(store, data, **limits)
    return refused.value.status, refused.value.details


def test_fields_and_files_come_apart_and_the_files_are_stored(store):
    form, files = read(store, body(("kind", "reply"), ("body", "包裹破损"), ("attachments", "a.pdf", b"%PDF-1.4 x"),
                                   ("attachments", "", b"")))  # a form's empty file input: no file
    assert form == {"kind": "reply", "body": "包裹破损"}
    [ref] = files
    assert (ref["filename"], ref["content_type"], ref["size"]) == ("a.pdf", "application/pdf", 10)
    with store.open(ref["sha256"]) as stored:
        assert stored.read() == b"%PDF-1.4 x"


@pytest.mark.parametrize("parts, status, details", [
    ([("attachments", "big.bin", b"x" * 1001)], 413, {"limit_bytes": 1000}),
    ([("attachments", f"{n}.txt", b"x") for n in range(3)], 413, {"limit_files": 2}),
    ([("body", "y" * 101)], 413, {"limit_bytes": 100}),
    ([("photo", "a.png", b"x")], 400, {"photo": ["files are parts named attachments"]}),
    ([("kind", "note"), ("kind", "reply")], 400, {"kind": ["given twice"]}),
    ([("attachments", "text in the files' place")], 400, {"attachments": ["must be a file part"]}),
    ([("body", b"\xff\xfe")], 400, {"body": ["must be UTF-8 text"]}),
])
def test_each_refusal_names_its_limit_or_field_and_leaves_no_partial_file(store, parts, status, details):
    assert refusal(store, body(*parts)) == (status, details)
    assert not (store.root / "tmp").exists() or list((store.root / "tmp").iterdir()) == []


def test_a_body_cut_short_or_too_long_is_refused(store):
    status, _ = refusal(store, body(("attachments", "a.txt", b"half"), end=False))
    assert status == 400
    assert refusal(store, body(("attachments", "a.txt", b"x" * 500)), body_limit=300) == (413, {"limit_bytes": 300})
    assert list((store.root / "tmp").iterdir()) == []
