"""A file's name is cleaned before it is stored: it ends up in headers, mail and agents' disks."""
import pytest

from ticketing.attachments.rules import safe_filename


@pytest.mark.parametrize("sent, kept", [
    ("photo.jpg", "photo.jpg"),
    ("C:\\Users\\liu\\Desktop\\photo.jpg", "photo.jpg"),
    ("../../etc/passwd", "passwd"),
    ("包裹 破损.png", "包裹 破损.png"),
    ("invoice\u202egpj.exe", "invoicegpj.exe"),  # the right-to-left override that shows it as ...exe.jpg
    ("a\x00b\x07c\r\n.txt", "abc .txt"),
    ("  ..hidden  ", "hidden"),
    ("trailing dots...", "trailing dots"),
    ("tab\tand   spaces.txt", "tab and spaces.txt"),
    ("e\u0301.txt", "\u00e9.txt"),  # NFC
    ("", "attachment"),
    ("/", "attachment"),
    ("\u200b\u200d", "attachment"),
])
def test_names_are_cleaned(sent, kept):
    assert safe_filename(sent) == kept


def test_a_long_name_is_cut_to_255_characters_keeping_its_extension():
    assert safe_filename("x" * 300 + ".pdf") == "x" * 251 + ".pdf"
    assert safe_filename("y" * 300) == "y" * 255
    assert len(safe_filename("包" * 400 + ".jpeg")) == 255


class Row:
    def __init__(self, id):
        self.id = id


def test_a_mail_s_cid_images_point_at_their_attachments_downloads_and_an_unknown_one_loses_its_source():
    from ticketing.attachments.rules import inline_images
    html = ('<p><img src="cid:image001.png@01DB48A2.7C1E3B50" alt="label"></p>'
            "<p><img alt=\"x\" src='cid:part%401.example'></p><p><img src=\"cid:nobody@x\" alt=\"gone\"></p>"
            '<p>cid:image001.png@01DB48A2.7C1E3B50 is text, not a source</p>')
    refs = [{"sha256": "a" * 64, "content_id": "image001.png@01DB48A2.7C1E3B50"}, {"sha256": "b" * 64},
            {"sha256": "c" * 64, "content_id": "<part@1.example>"}]
    assert inline_images(html, 7, refs, [Row(11), Row(12), Row(13)]) == (
        '<p><img src="/api/v1/tickets/7/attachments/11" alt="label"></p>'
        '<p><img alt="x" src="/api/v1/tickets/7/attachments/13"></p><p><img alt="gone"></p>'
        '<p>cid:image001.png@01DB48A2.7C1E3B50 is text, not a source</p>')
    assert inline_images(None, 7, refs, []) is None
