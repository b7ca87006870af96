"""A raw mail read from a file without holding it (``mime.parse_file``): it reads as ``parse`` reads
the same mail in memory, each large file part decoded into the blob store piece by piece (base64,
quoted-printable, a forwarded mail), the skeleton the stdlib parses a few KiB whatever the files
weigh, the limits on files kept, and a placeholder header sent in the mail meaning nothing."""
import base64
import dataclasses
import hashlib
import io
import quopri
from pathlib import Path

import pytest

from channels.inbound import mime
from plumbing.blobs import BlobStore

MAIL = Path(__file__).parent.parent / "mail"
LIMIT = 25 * 1024 * 1024


@pytest.fixture
def store(tmp_path):
    return BlobStore(tmp_path / "blobs")


def read_file(raw, store, max_file_bytes=LIMIT, max_files=20):
    return mime.parse_file(io.BytesIO(raw), hashlib.sha256(raw).hexdigest(), store, max_file_bytes, max_files)


def content(part, store):
    if part.ref is None:
        return part.data
    with store.open(part.ref.sha256) as stored:
        return stored.read()


@pytest.mark.parametrize("offload_bytes", [mime.OFFLOAD_BYTES, 0])
@pytest.mark.parametrize("name", sorted(path.name for path in MAIL.glob("*.eml")))
def test_every_mail_of_the_corpus_reads_from_a_file_as_from_memory(name, offload_bytes, store, monkeypatch):
    """With every file part sent to the store (offload at 0 bytes) too: the same text, HTML, headers,
    report, and files of the same bytes (a forwarded mail as it came, not as the stdlib writes it)."""
    monkeypatch.setattr(mime, "OFFLOAD_BYTES", offload_bytes)
    raw = (MAIL / name).read_bytes()
    in_memory, from_file = mime.parse(raw), read_file(raw, store)
    fields = [field.name for field in dataclasses.fields(mime.ParsedMail) if field.name != "attachments"]
    assert {name: getattr(from_file, name) for name in fields} == {name: getattr(in_memory, name) for name in fields}
    assert len(from_file.attachments) == len(in_memory.attachments)
    for memory_part, file_part in zip(in_memory.attachments, from_file.attachments):
        assert (file_part.filename, file_part.content_type, file_part.content_id, file_part.inline) == \
            (memory_part.filename, memory_part.content_type, memory_part.content_id, memory_part.inline)
        assert (file_part.ref is not None) == (offload_bytes == 0)
        if memory_part.content_type == "message/rfc822":
            assert content(file_part, store).replace(b"\r\n", b"\n") == memory_part.data.replace(b"\r\n", b"\n")
        else:
            assert content(file_part, store) == memory_part.data


def big_mail(attachment, encoding="base64", extra_headers=""):
    if encoding == "base64":
        body = base64.encodebytes(attachment).replace(b"\n", b"\r\n")
    else:
        body = quopri.encodestring(attachment).replace(b"\n", b"\r\n")
    return (b"From: Dana Lee <dana@customer.example.org>\r\nTo: support@shop.example.com\r\nSubject: Photos\r\n"
            b"Message-ID: <big@customer.example.org>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\npreamble\r\n--outer\r\n"
            b"Content-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n--inner\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n\r\nThe photos of the parcel.\r\n--inner\r\n"
            b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>The photos of the <b>parcel</b>.</p>\r\n"
            b"--inner--\r\n\r\n--outer\r\n"
            b"Content-Type: application/octet-stream; name=\"photos.bin\"\r\n"
            + extra_headers.encode() +
            b"Content-Transfer-Encoding: " + encoding.encode() + b"\r\n"
            b"Content-Disposition: attachment; filename=\"photos.bin\"\r\n\r\n" + body +
            b"\r\n--outer\r\nContent-Type: text/plain; name=\"notes.txt\"\r\n"
            b"Content-Disposition: attachment; filename=\"notes.txt\"\r\n\r\nsmall notes\r\n--outer--\r\nepilogue\r\n")


@pytest.mark.parametrize("encoding", ["base64", "quoted-printable"])
def test_a_large_attachment_goes_to_the_store_as_it_is_read_and_the_skeleton_stays_small(encoding, store):
    attachment = bytes(range(256)) * 8192 + b"=\r\nend \r\n"  # 2 MiB and a tail quoted-printable must keep
    raw = big_mail(attachment, encoding)
    skeleton, taken = mime.split(io.BytesIO(raw), mime.Offloader(store, LIMIT, 20))
    assert len(skeleton) < 2048 and len(taken) == 1
    mail = read_file(raw, store)
    assert (mail.text, mail.html) == ("The photos of the parcel.", "<p>The photos of the <b>parcel</b>.</p>")
    photos, notes = mail.attachments
    assert (photos.filename, photos.data) == ("photos.bin", None)
    assert content(photos, store) == mime.parse(raw).attachments[0].data  # as the stdlib decodes it
    if encoding == "base64":
        assert content(photos, store) == attachment and photos.ref.size == len(attachment)
    else:  # the line breaks of the content are the mail's (CRLF), the rest as it was
        assert content(photos, store) == attachment.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")
    assert (notes.filename, notes.data, notes.ref) == ("notes.txt", b"small notes", None)


def test_a_file_beyond_the_limits_is_not_kept_and_says_why(store):
    attachment = bytes(range(256)) * 1024  # 256 KiB
    too_large = read_file(big_mail(attachment), store, max_file_bytes=100_000)
    assert (too_large.attachments[0].ref, too_large.attachments[0].dropped) == (None, "larger than the limit")
    one_too_many = read_file(big_mail(attachment), store, max_files=0)
    assert (one_too_many.attachments[0].ref, one_too_many.attachments[0].dropped) == (None, "one file too many")
    assert list((store.root / "tmp").iterdir()) == []  # no partial file left behind


def test_a_placeholder_header_in_the_mail_names_nothing(store):
    """Only the reader names a part's stored content: a sender writing the header cannot point a
    part at a file of the store (another ticket's attachment, by its hash)."""
    elsewhere = store.put(io.BytesIO(b"another customer's invoice"), LIMIT)
    raw = big_mail(b"tiny", extra_headers=f"{mime.PLACEHOLDER}: {elsewhere.sha256}\r\n")
    [photos, _] = read_file(raw, store).attachments
    assert (photos.ref, photos.data) == (None, b"tiny")


def test_a_part_cut_short_by_its_enclosing_boundary_ends_there(store, monkeypatch):
    """An inner multipart whose closing delimiter is missing ends at the outer one, as the stdlib reads it."""
    monkeypatch.setattr(mime, "OFFLOAD_BYTES", 0)
    raw = (b"From: a@example.net\r\nTo: support@shop.example.com\r\nSubject: cut\r\nMessage-ID: <cut@x>\r\n"
           b"Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n--o\r\n"
           b"Content-Type: multipart/related; boundary=\"i\"\r\n\r\n--i\r\n"
           b"Content-Type: text/plain\r\n\r\nbody text\r\n--i\r\n"
           b"Content-Type: image/png\r\nContent-ID: <img1>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(b"\x89PNG\r\n\x1a\nrest").replace(b"\n", b"\r\n") +
           b"--o\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n\r\n%PDF-1.4 x\r\n--o--\r\n")
    in_memory, from_file = mime.parse(raw), read_file(raw, store)
    assert from_file.text == in_memory.text == "body text"
    assert [content(part, store) for part in from_file.attachments] == [part.data for part in in_memory.attachments]
    assert [part.content_id for part in from_file.attachments] == ["img1", None]
