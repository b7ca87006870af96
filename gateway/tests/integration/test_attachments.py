"""Attachments through the gateway (issue 20): files uploaded with a message as multipart/form-data,
streamed into the blob store, listed on the message and downloaded with the ticket's access rules,
the type detected from the content, nosniff, and a download unless an allow-listed image; the
limits (20 files a message, 25 MiB each) answered with a 413 naming them."""
import hashlib
import os
import tracemalloc
import uuid
from urllib.parse import quote

import eventlet
import pytest

from ticketing.contract import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS

TICKET = {"subject": "Parcel arrived damaged", "channel": "email", "kind": "complaint",
          "customer": {"name": "Li Lei", "contact": "li@example.com"}}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00" + os.urandom(2000)
PDF = b"%PDF-1.7\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 50 + b"%%EOF\n"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
MiB = 1 << 20


@pytest.fixture
def desk(start_platform, client, make_account):
    """ann (billing) owns a ticket; tom (tech) is an agent who may not read it."""
    start_platform("ticketing")
    admin = client.login()
    people = {"admin": admin, "ann": make_account("ann", ["agent"], teams=["billing"]),
              "tom": make_account("tom", ["agent"], teams=["tech"])}
    opened = admin.post(client.url("/api/v1/tickets"), json=dict(TICKET, assignee="ann", team="billing"))
    assert opened.status_code == 201, opened.text
    people["ticket"] = opened.json()["id"]
    people["messages"] = client.url(f"/api/v1/tickets/{people['ticket']}/messages")
    return people


class MultipartFile:
    """A multipart/form-data body written to disk, sent from there: the test holds no copy of a
    large file in memory, so what is measured is the gateway's."""

    def __init__(self, directory, fields, files):
        self.boundary = uuid.uuid4().hex
        self.path = directory / f"{self.boundary}.body"
        with open(self.path, "wb") as body:
            for name, value in fields.items():
                body.write(f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                           f"{value}\r\n".encode())
            for filename, size, piece in files:
                body.write(f'--{self.boundary}\r\nContent-Disposition: form-data; name="attachments"; '
                           f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode())
                for _ in range(size // len(piece)):
                    body.write(piece)
                body.write(piece[:size % len(piece)] + b"\r\n")
            body.write(f"--{self.boundary}--\r\n".encode())

    def post(self, session, url):
        with open(self.path, "rb") as body:
            return session.post(url, data=body, headers={
                "Content-Type": f"multipart/form-data; boundary={self.boundary}",
                "Content-Length": str(self.path.stat().st_size)})


def error(response, status):
    assert response.status_code == status, response.text
    return response.json()["error"]


def test_a_reply_with_files_lists_them_and_each_downloads_as_its_content_says(desk, client):
    ann = desk["ann"]
    sent = ann.post(desk["messages"], data={"kind": "reply", "body": "Photo and the carrier's report attached"},
                    files=[("attachments", ("photo.jpg", PNG, "image/jpeg")),  # a PNG, whatever its name says
                           ("attachments", ("快递报告 2026.pdf", PDF, "application/pdf")),
                           ("attachments", ("invoice.png", HTML, "image/png"))])  # an HTML page posing as a PNG
    assert sent.status_code == 201, sent.text
    message = sent.json()
    assert (message["kind"], message["body"]) == ("reply", "Photo and the carrier's report attached")
    described = [(a["filename"], a["content_type"], a["size"]) for a in message["attachments"]]
    assert described == [("photo.jpg", "image/png", len(PNG)), ("快递报告 2026.pdf", "application/pdf", len(PDF)),
                         ("invoice.png", "text/plain", len(HTML))]
    [listed] = ann.get(desk["messages"]).json()["items"]
    assert listed["attachments"] == message["attachments"]

    photo, report, page = (ann.get(client.url(a["url"])) for a in message["attachments"])
    for response, content in ((photo, PNG), (report, PDF), (page, HTML)):
        assert response.status_code == 200 and response.content == content
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Length"] == str(len(content))
        assert response.headers["Cache-Control"].startswith("private")
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert photo.headers["Content-Type"] == "image/png"
    assert photo.headers["Content-Disposition"] == 'inline; filename="photo.jpg"'
    assert report.headers["Content-Type"] == "application/pdf"
    assert report.headers["Content-Disposition"] == (
        "attachment; filename=\"2026.pdf\"; filename*=UTF-8''" + quote("快递报告 2026.pdf", safe=""))
    assert page.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert page.headers["Content-Disposition"] == 'attachment; filename="invoice.png"'
    assert page.headers["ETag"] == f'"{hashlib.sha256(HTML).hexdigest()}"'
    out_of_scope_it_is_not_found_and_json_cannot_name_stored_files(desk, client)


def out_of_scope_it_is_not_found_and_json_cannot_name_stored_files(desk, client):
    ann, tom, admin = desk["ann"], desk["tom"], desk["admin"]
    sent = ann.post(desk["messages"], data={"kind": "note", "body": "photo"},
                    files={"attachments": ("parcel.png", PNG, "image/png")})
    [attachment] = sent.json()["attachments"]
    assert error(tom.get(client.url(attachment["url"])), 404)["code"] == "not_found"
    assert admin.get(client.url(attachment["url"])).content == PNG
    other = admin.post(client.url("/api/v1/tickets"), json=dict(TICKET, assignee="ann", team="billing")).json()["id"]
    elsewhere = client.url(f"/api/v1/tickets/{other}/attachments/{attachment['id']}")  # through another ticket
    assert error(ann.get(elsewhere), 404)["code"] == "not_found"
    reference = {key: attachment[key] for key in ("sha256", "filename", "content_type", "size")}
    refused = error(tom.post(client.url(f"/api/v1/tickets/{other}/messages"),
                             json={"kind": "note", "body": "mine now", "attachments": [reference]}), 400)
    assert list(refused["details"]) == ["attachments"]  # files come only as uploads


def twenty_one_files_are_refused_naming_the_limit_and_nothing_is_written(desk):
    ann = desk["ann"]
    files = [("attachments", (f"p{n}.png", PNG, "image/png")) for n in range(MAX_ATTACHMENTS + 1)]
    refused = error(ann.post(desk["messages"], data={"kind": "note", "body": "many"}, files=files), 413)
    assert refused["code"] == "payload_too_large" and "at most 20" in refused["message"]
    assert refused["details"] == {"limit_files": MAX_ATTACHMENTS}
    assert ann.get(desk["messages"]).json()["items"] == []
    sent = ann.post(desk["messages"], data={"kind": "note", "body": "twenty"}, files=files[:MAX_ATTACHMENTS])
    assert sent.status_code == 201 and len(sent.json()["attachments"]) == MAX_ATTACHMENTS


def a_file_over_25_mib_is_refused_naming_the_limit_and_leaves_no_partial_file(desk, tmp_path):
    body = MultipartFile(tmp_path, {"kind": "note", "body": "the video"},
                         [("video.mp4", MAX_ATTACHMENT_BYTES + 1, os.urandom(MiB))])
    refused = error(body.post(desk["ann"], desk["messages"]), 413)
    assert "'video.mp4'" in refused["message"] and "25 MiB" in refused["message"]
    assert refused["details"] == {"limit_bytes": MAX_ATTACHMENT_BYTES}
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []
    assert desk["ann"].get(desk["messages"]).json()["items"] == []


def test_the_limits_are_413s_naming_them_and_a_20_mib_upload_stays_small_in_memory(desk, tmp_path, capsys):
    """One platform for the three (each test starts its own): the size limit, the count limit, the memory."""
    a_file_over_25_mib_is_refused_naming_the_limit_and_leaves_no_partial_file(desk, tmp_path)
    twenty_one_files_are_refused_naming_the_limit_and_nothing_is_written(desk)
    a_20_mib_upload_is_stored_within_a_fraction_of_its_size_in_memory(desk, tmp_path, capsys)


def a_20_mib_upload_is_stored_within_a_fraction_of_its_size_in_memory(desk, tmp_path, capsys):
    size = 20 * MiB
    piece = os.urandom(MiB)
    body = MultipartFile(tmp_path, {"kind": "reply", "body": "the recording"}, [("call.wav", size, piece)])
    resident_before, resident = resident_bytes(), []
    sampler = eventlet.spawn(sample_resident, resident)  # the gateway runs in this process, on its event loop
    tracemalloc.start()
    try:
        sent = body.post(desk["ann"], desk["messages"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        sampler.kill()
    resident_growth = max(resident, default=resident_before) - resident_before
    assert sent.status_code == 201, sent.text
    [attachment] = sent.json()["attachments"]
    assert attachment["size"] == size and attachment["sha256"] == hashlib.sha256(piece * 20).hexdigest()
    with capsys.disabled():
        print(f"\n20 MiB upload: peak Python memory {peak / MiB:.2f} MiB ({peak / size:.3f} of the file); "
              f"resident set grew at most {resident_growth / MiB:.2f} MiB ({len(resident)} samples)")
    assert peak < 3 * size and resident_growth < 3 * size  # the target
    assert peak < 4 * MiB  # what streaming gives: pieces, never the file


def resident_bytes():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def sample_resident(samples):
    while True:
        samples.append(resident_bytes())
        eventlet.sleep(0.002)
