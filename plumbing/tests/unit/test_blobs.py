"""The blob store: stored once by content hash, streamed with a limit, typed by content."""
import hashlib
import io
import os
import zipfile

import pytest

from plumbing import blobs
from plumbing.blobs import BlobStore, TooLarge, UnknownBlob

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(50)
PDF = b"%PDF-1.7\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 10 + b"%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40)


class Trickle(io.RawIOBase):
    """A stream that yields at most a few bytes per read and counts what was read."""

    def __init__(self, data, step=7):
        self.data, self.step, self.position = data, step, 0

    def readable(self):
        return True

    def read(self, size=-1):
        size = self.step if size < 0 else min(size, self.step)
        chunk = self.data[self.position:self.position + size]
        self.position += len(chunk)
        return chunk


@pytest.fixture
def store(tmp_path):
    return BlobStore(tmp_path / "blobs")


def test_put_returns_the_hash_size_and_type_and_stores_under_the_hash(store):
    ref = store.put(io.BytesIO(PNG), max_bytes=1000)
    assert ref.sha256 == hashlib.sha256(PNG).hexdigest()
    assert (ref.size, ref.content_type) == (len(PNG), "image/png")
    assert store.path(ref.sha256) == store.root / ref.sha256[:2] / ref.sha256[2:4] / ref.sha256
    assert store.exists(ref.sha256)
    with store.open(ref.sha256) as stored:
        assert stored.read() == PNG
    assert ref.as_dict() == {"sha256": ref.sha256, "size": len(PNG), "content_type": "image/png"}


def test_the_same_content_is_one_file_and_no_temporary_file_stays(store):
    first = store.put(io.BytesIO(PDF), max_bytes=10_000)
    second = store.put(Trickle(PDF), max_bytes=10_000)
    assert first == second
    files = [path for path in store.root.rglob("*") if path.is_file()]
    assert files == [store.path(first.sha256)]


def test_a_stream_read_in_small_pieces_hashes_the_same(store):
    data = os.urandom(300_000)
    ref = store.put(Trickle(data, step=65_000), max_bytes=len(data))
    assert ref.sha256 == hashlib.sha256(data).hexdigest() and ref.size == len(data)


def test_exactly_the_limit_is_stored_one_byte_more_is_too_large_and_leaves_nothing(store):
    assert store.put(io.BytesIO(b"a" * 100), max_bytes=100).size == 100
    source = Trickle(b"b" * 10_000_000, step=1 << 20)
    with pytest.raises(TooLarge) as raised:
        store.put(source, max_bytes=101)
    assert raised.value.max_bytes == 101
    assert "101 bytes" in str(raised.value)
    assert source.position <= 102  # it stopped reading at the limit instead of draining the stream
    assert not store.exists(hashlib.sha256(b"b" * 102).hexdigest())
    assert list((store.root / "tmp").iterdir()) == []


def test_the_limit_is_named_in_mebibytes():
    assert str(TooLarge(25 * 1024 * 1024)) == "larger than the limit of 25 MiB (26214400 bytes)"
    assert blobs.describe_size(1536) == "1536 bytes" and blobs.describe_size(2048) == "2 KiB"


def test_a_failing_stream_leaves_no_temporary_file(store):
    class Broken(io.RawIOBase):
        def read(self, size=-1):
            raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        store.put(Broken(), max_bytes=100)
    assert list((store.root / "tmp").iterdir()) == []


def _docx_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as document:
        document.writestr("[Content_Types].xml", "<Types/>")
        document.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def _zip_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return buffer.getvalue()


@pytest.mark.parametrize("content, expected", [
    (PNG, "image/png"),
    (JPEG, "image/jpeg"),
    (b"GIF89a" + bytes(20), "image/gif"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(20), "image/webp"),
    (PDF, "application/pdf"),
    (_zip_bytes(), "application/zip"),
    (_docx_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("退货：包裹破损。Parcel damaged.\n".encode(), "text/plain"),
    (b"<!doctype html><html><script>alert(1)</script></html>", "text/plain"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "text/plain"),
    ("退货".encode("gbk") + b"\xff\xfe", "application/octet-stream"),
    (b"text\x00with NUL", "application/octet-stream"),
    (b"", "text/plain"),
])
def test_the_type_comes_from_the_content(store, content, expected):
    assert store.put(io.BytesIO(content), max_bytes=1 << 20).content_type == expected


def test_a_utf8_character_split_across_reads_is_still_text(store):
    data = "包裹".encode() * 10  # 3-byte characters cut by 7-byte reads
    assert store.put(Trickle(data, step=7), max_bytes=1000).content_type == "text/plain"


def test_unknown_or_malformed_hashes_are_not_found_and_never_leave_the_root(store):
    assert not store.exists("0" * 64)
    assert not store.exists("../../etc/passwd")
    with pytest.raises(UnknownBlob):
        store.open("0" * 64)
    with pytest.raises(UnknownBlob):
        store.open("../" * 20 + "etc/passwd")
    with pytest.raises(UnknownBlob):
        store.open("A" * 64)  # hashes are lower-case hex


def test_the_root_comes_from_blob_dir_else_the_var_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("CSOPS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("BLOB_DIR", raising=False)
    assert blobs.blob_dir() == tmp_path / "var" / "blobs"
    monkeypatch.setenv("BLOB_DIR", str(tmp_path / "shared"))
    ref = blobs.put(io.BytesIO(PDF), max_bytes=10_000)
    assert (tmp_path / "shared").joinpath(ref.sha256[:2], ref.sha256[2:4], ref.sha256).is_file()
    assert blobs.exists(ref.sha256)
    with blobs.open(ref.sha256) as stored:
        assert stored.read() == PDF


def test_a_writer_fed_piece_by_piece_stores_like_put_and_a_discarded_one_leaves_nothing(store):
    writer = store.writer(max_bytes=len(PDF))
    for start in range(0, len(PDF), 10):
        writer.write(PDF[start:start + 10])
    ref = writer.finish()
    assert ref == store.put(io.BytesIO(PDF), max_bytes=len(PDF)) and writer.finish() is ref
    writer.discard()  # finished: nothing to forget
    assert store.exists(ref.sha256)
    abandoned = store.writer(max_bytes=100)
    abandoned.write(b"half a file")
    abandoned.discard()
    with pytest.raises(TooLarge):
        store.writer(max_bytes=3).write(b"four")
    assert list((store.root / "tmp").iterdir()) == []


def test_the_nameko_config_names_the_root_before_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BLOB_DIR", str(tmp_path / "from-env"))
    assert BlobStore.from_config({"BLOB_DIR": str(tmp_path / "from-config")}).root == tmp_path / "from-config"
    assert BlobStore.from_config({}).root == tmp_path / "from-env"


def test_a_reference_is_checked_against_what_is_stored(store):
    ref = store.put(io.BytesIO(PNG), max_bytes=1000)
    assert store.problem(ref.sha256, ref.size, "image/png") is None
    assert store.problem("0" * 64, 1, "image/png") == "no such file in the blob store"
    assert store.problem(ref.sha256, ref.size + 1, "image/png") == f"the stored file has {ref.size} bytes, not {ref.size + 1}"
    assert store.problem(ref.sha256, ref.size, "text/plain") == "the stored file is image/png, not text/plain"
    page = store.put(io.BytesIO(b"<html><script>alert(1)</script></html>"), max_bytes=1000)
    assert store.problem(page.sha256, page.size, "image/png") == "the stored file is not image/png"
    assert store.problem(page.sha256, page.size, "text/plain") is None
