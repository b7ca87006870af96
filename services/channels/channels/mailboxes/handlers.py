"""Mailboxes: admins create, change, list and delete them; mail in reads them."""
from sqlalchemy import select

from channels.contract import MailboxCreateSchema, MailboxListSchema, MailboxSchema, MailboxUpdateSchema
from channels.mailboxes import rules
from channels.models import InboundMail, Mailbox
from plumbing.db import get_or_not_found
from plumbing.errors import Conflict, InvalidInput, load_or_invalid as load
from plumbing.schemas import shared


def create_mailbox(uow, data):
    fields = load(MailboxCreateSchema, data)
    fields["address"] = rules.normalised_address(fields["address"])
    with uow.transaction():
        check_address(uow, fields["address"])
        mailbox = Mailbox(**fields, last_uid=0, created_at=uow.now(), updated_at=uow.now())
        uow.session.add(mailbox)
    return shared(MailboxSchema).dump(mailbox)


def update_mailbox(uow, mailbox_id, data):
    fields = load(MailboxUpdateSchema, data)
    if "address" in fields:
        fields["address"] = rules.normalised_address(fields["address"])
    with uow.transaction():
        mailbox = get_or_not_found(uow.session, Mailbox, mailbox_id, lock=True)
        if fields.get("address", mailbox.address) != mailbox.address:
            check_address(uow, fields["address"])
        for name, value in fields.items():
            setattr(mailbox, name, value)
        if mailbox.imap_host and not (mailbox.imap_user and mailbox.imap_password_secret):
            missing = [name for name in ("imap_user", "imap_password_secret") if not getattr(mailbox, name)]
            raise InvalidInput("an IMAP mailbox needs its user and password secret",
                               {name: ["required when imap_host is set"] for name in missing})
        if {"imap_host", "imap_port", "imap_user", "imap_folder"} & set(fields):
            mailbox.uidvalidity, mailbox.last_uid = None, 0  # another folder: its UIDs start over
        mailbox.updated_at = uow.now()
    return shared(MailboxSchema).dump(mailbox)


def get_mailbox(uow, mailbox_id):
    return shared(MailboxSchema).dump(get_or_not_found(uow.session, Mailbox, mailbox_id))


def list_mailboxes(uow):
    return shared(MailboxListSchema).dump({"items": uow.session.scalars(select(Mailbox).order_by(Mailbox.id))})


def delete_mailbox(uow, mailbox_id):
    """A mailbox whose mail is logged stays (the log names it): deactivate it instead."""
    with uow.transaction():
        mailbox = get_or_not_found(uow.session, Mailbox, mailbox_id, lock=True)
        if uow.session.scalar(select(InboundMail.id).where(InboundMail.mailbox_id == mailbox.id).limit(1)):
            raise Conflict("the mailbox has mail in its log: set active to false instead",
                           {"mailbox": ["has inbound mail"]})
        uow.session.delete(mailbox)
    return {}


def check_address(uow, address):
    if uow.session.scalar(select(Mailbox.id).where(Mailbox.address == address)) is not None:
        raise Conflict(f"a mailbox for {address} exists", {"address": ["already used"]})
