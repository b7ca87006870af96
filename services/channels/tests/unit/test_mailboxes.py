"""Mailboxes: created, changed, listed and deleted by admins; an IMAP mailbox needs its
credentials' names; a mailbox with mail in its log is deactivated, not deleted."""
import pytest

from channels.mailboxes import handlers as mailboxes
from channels.mailboxes import rules
from plumbing.errors import Conflict, InvalidInput

SUPPORT = {"address": "Support@Example.com", "team": "billing", "kind": "complaint", "priority": "high"}


def test_a_mailbox_is_created_with_defaults_and_its_address_is_unique_without_case(run):
    mailbox = run(mailboxes.create_mailbox, SUPPORT)
    assert mailbox["address"] == "support@example.com"
    assert (mailbox["team"], mailbox["kind"], mailbox["priority"]) == ("billing", "complaint", "high")
    assert (mailbox["language"], mailbox["acknowledge"], mailbox["active"]) == ("zh-CN", True, True)
    assert (mailbox["imap_host"], mailbox["imap_port"], mailbox["imap_folder"], mailbox["last_uid"]) == \
        (None, 993, "INBOX", 0)
    with pytest.raises(Conflict) as refused:
        run(mailboxes.create_mailbox, {"address": "SUPPORT@example.com"})
    assert refused.value.details == {"address": ["already used"]}
    assert [m["id"] for m in run(mailboxes.list_mailboxes)["items"]] == [mailbox["id"]]


def test_an_imap_mailbox_names_its_user_and_password_secret_never_the_password(run):
    with pytest.raises(InvalidInput) as refused:
        run(mailboxes.create_mailbox, {"address": "a@example.com", "imap_host": "imap.example.com"})
    assert set(refused.value.details) == {"imap_user", "imap_password_secret"}
    with pytest.raises(InvalidInput) as refused:
        run(mailboxes.create_mailbox, {"address": "a@example.com", "imap_host": "imap.example.com",
                                       "imap_user": "a", "imap_password_secret": "hunter2!"})
    assert set(refused.value.details) == {"imap_password_secret"}
    mailbox = run(mailboxes.create_mailbox, {"address": "a@example.com", "imap_host": "imap.example.com",
                                             "imap_user": "a", "imap_password_secret": "SUPPORT_IMAP_PASSWORD"})
    assert "imap_password" not in mailbox
    with pytest.raises(InvalidInput):
        run(mailboxes.update_mailbox, mailbox["id"], {"imap_user": None})


def test_changing_the_folder_starts_its_uids_over(run):
    mailbox = run(mailboxes.create_mailbox, {"address": "a@example.com", "imap_host": "imap.example.com",
                                             "imap_user": "a", "imap_password_secret": "P"})
    with run.sessions() as session:
        from channels.models import Mailbox
        row = session.get(Mailbox, mailbox["id"])
        row.uidvalidity, row.last_uid = 7, 42
        session.commit()
    assert run(mailboxes.update_mailbox, mailbox["id"], {"acknowledge": False})["last_uid"] == 42
    changed = run(mailboxes.update_mailbox, mailbox["id"], {"imap_folder": "Support"})
    assert (changed["uidvalidity"], changed["last_uid"]) == (None, 0)


def test_a_mailbox_without_mail_is_deleted(run):
    mailbox = run(mailboxes.create_mailbox, SUPPORT)
    run(mailboxes.delete_mailbox, mailbox["id"])
    assert run(mailboxes.list_mailboxes)["items"] == []


def test_uidvalidity_change_is_a_reset_only_when_one_was_stored():
    assert rules.folder_reset(None, 5) is False
    assert rules.folder_reset(5, 5) is False
    assert rules.folder_reset(5, 6) is True
