"""What a mail about a ticket is sent from and threaded with: the ticket's mailbox (From, the
default language), the customer's language, the Message-IDs of the ticket's mails so far (mail
in's ``thread_messages``, ours included) and its signed reply address."""
from dataclasses import dataclass

from sqlalchemy import select

from channels.inbound import handlers as inbound
from channels.models import Mailbox, ThreadMessage, TicketThread
from channels.outbound import addresses, rules
from channels.outbound.sending import option

DEFAULT_FROM = "support@localhost"


@dataclass(frozen=True)
class Thread:
    sender: str
    sender_name: str = ""
    reply_to: str | None = None
    root: str | None = None
    earlier: tuple = ()
    language: str | None = None


def thread_of(uow, ticket_id, config) -> Thread:
    """The ticket's thread: from its mailbox if it came by mail, else from the default sender."""
    known = uow.session.get(TicketThread, ticket_id)
    mailbox = uow.session.get(Mailbox, known.mailbox_id) if known and known.mailbox_id else None
    mailbox = mailbox or default_mailbox(uow, config)
    sender = mailbox.address if mailbox else (option(config, "CHANNELS_FROM_ADDRESS") or DEFAULT_FROM)
    sender_name = mailbox.name if mailbox else option(config, "CHANNELS_FROM_NAME", "")
    language = rules.choose_language(known.language if known else None,
                                     mailbox.language if mailbox else option(config, "CHANNELS_DEFAULT_LANGUAGE"))
    earlier = tuple(f"<{message_id}>" for message_id in uow.session.scalars(
        select(ThreadMessage.message_id).where(ThreadMessage.ticket_id == ticket_id).order_by(ThreadMessage.id)))
    secret = option(config, "CHANNELS_REPLY_SECRET") or None
    return Thread(sender=sender, sender_name=sender_name or "",
                  reply_to=addresses.reply_address(ticket_id, secret, sender) if secret else None,
                  root=rules.thread_root(ticket_id, rules.domain_of(sender)), earlier=earlier, language=language)


def staff_thread(ticket_id, config) -> Thread:
    """Notifications come from ``CHANNELS_NOTIFY_FROM`` (else the default sender); those about one
    ticket share a thread of their own, apart from the customer's."""
    sender = option(config, "CHANNELS_NOTIFY_FROM") or option(config, "CHANNELS_FROM_ADDRESS") or DEFAULT_FROM
    root = rules.thread_root(ticket_id, rules.domain_of(sender)).replace("<ticket-", "<staff-ticket-") \
        if ticket_id else None
    return Thread(sender=sender, sender_name=option(config, "CHANNELS_NOTIFY_NAME", ""), root=root)


def default_mailbox(uow, config):
    """The mailbox named ``CHANNELS_FROM_ADDRESS``, else the first active one, else None."""
    address = option(config, "CHANNELS_FROM_ADDRESS")
    if address:
        named = uow.session.scalars(select(Mailbox).where(Mailbox.address == address.lower())).first()
        if named is not None:
            return named
        return None
    return uow.session.scalars(select(Mailbox).where(Mailbox.active.is_(True)).order_by(Mailbox.id)).first()


def remember(uow, ticket_id, mailbox_id, language):
    """A ticket's mailbox and the customer's language, from its latest mail (a language not told keeps the one before)."""
    known = uow.session.get(TicketThread, ticket_id) or TicketThread(ticket_id=ticket_id)
    known.mailbox_id = mailbox_id if mailbox_id is not None else known.mailbox_id
    known.language = language or known.language
    known.updated_at = uow.now()
    uow.session.add(known)
    return known


def record_sent_id(uow, ticket_id, message_id):
    """Our Message-ID in the ticket's thread, so a reply to it joins the ticket (mail in looks there)."""
    inbound.remember_message_id(uow, message_id, ticket_id, "out")
