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
