"""A stored file's name in Content-Disposition (RFC 6266, with RFC 5987's filename* for a name that
is not plain ASCII), and the headers that keep a browser from running what it downloads."""
import io

import pytest

from gateway.downloads import content_disposition, file_response


@pytest.mark.parametrize("name, header", [
    ("photo.jpg", 'attachment; filename="photo.jpg"'),
    ("快递报告 2026.pdf", "attachment; filename=\"2026.pdf\"; "
                        "filename*=UTF-8''%E5%BF%AB%E9%80%92%E6%8A%A5%E5%91%8A%202026.pdf"),
    ("报告.pdf", "attachment; filename=\"attachment.pdf\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf"),
    ("包裹", "attachment; filename=\"attachment\"; filename*=UTF-8''%E5%8C%85%E8%A3%B9"),
    ("café.txt", "attachment; filename=\"cafe.txt\"; filename*=UTF-8''caf%C3%A9.txt"),
    ('say "hi" \\ bye.txt', "attachment; filename=\"say _hi_ _ bye.txt\"; "
                            "filename*=UTF-8''say%20%22hi%22%20%5C%20bye.txt"),
    ("a;b=c.txt", 'attachment; filename="a;b=c.txt"'),  # quoted: the separators stay in the name
])
def test_the_name_as_rfc_6266_says(name, header):
    assert content_disposition("attachment", name) == header


def test_no_name_breaks_out_of_the_header():
    value = content_disposition("attachment", "x\r\nSet-Cookie: a=b.txt")
    assert "\r" not in value and "\n" not in value


@pytest.mark.parametrize("content_type, disposition, served", [
    ("image/png", "inline", "image/png"), ("image/jpeg", "inline", "image/jpeg"), ("image/gif", "inline", "image/gif"),
    ("image/webp", "inline", "image/webp"), ("image/svg+xml", "attachment", "image/svg+xml"),
    ("text/plain", "attachment", "text/plain; charset=utf-8"), ("application/pdf", "attachment", "application/pdf"),
    ("image/tiff", "attachment", "image/tiff"),
])
def test_only_the_allow_listed_images_show_in_place_and_nothing_is_sniffed(content_type, disposition, served):
    response = file_response(io.BytesIO(b"x"), {"content_type": content_type, "filename": "f", "size": 1,
                                                "sha256": "0" * 64})
    assert response.headers["Content-Disposition"].split(";")[0] == disposition
    assert response.headers["Content-Type"] == served
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.response) == b"x"
