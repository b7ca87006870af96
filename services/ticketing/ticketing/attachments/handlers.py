"""Attachment records: a reference to a file in the blob store (plumbing.blobs), checked against
it, with the cleaned name (``rules.safe_filename``). The ticket and message handlers call these
inside their own transaction; what the caller may read is theirs to check (``tickets.steps``)."""
from sqlalchemy import select

from plumbing.blobs import BlobStore
from plumbing.errors import InvalidInput, NotFound
from ticketing.attachments import rules
from ticketing.models import Attachment


def check_stored(refs, config):
    """Each reference names a file the blob store holds, as described: else 400 naming it."""
    if not refs:
        return
    store = BlobStore.from_config(config)
    problems = {str(index): {"sha256": [problem]} for index, ref in enumerate(refs)
                if (problem := store.problem(ref["sha256"], ref["size"], ref["content_type"]))}
    if problems:
        raise InvalidInput("attachments name files the blob store does not hold as described",
                           {"attachments": problems})


def attach(uow, ticket_id, message, refs):
    """Rows for checked references, on ``message`` (None: on the ticket as opened), in the open
    transaction, in the order given."""
    if not refs:
        return []  # most messages have none: no flush to make
    rows = [Attachment(ticket_id=ticket_id, sha256=ref["sha256"], filename=rules.safe_filename(ref["filename"]),
                       content_type=ref["content_type"], size=ref["size"], created_at=uow.now()) for ref in refs]
    if message is not None:
        message.attachments.extend(rows)
    uow.session.add_all(rows)
    uow.session.flush()
    return rows


def of_opening(uow, ticket_id) -> list:
    """What was attached as the ticket was opened."""
    return uow.session.scalars(select(Attachment).where(Attachment.ticket_id == ticket_id,
                                                        Attachment.message_id.is_(None))
                               .order_by(Attachment.id)).all()


def find(uow, ticket_id, attachment_id):
    """One attachment of the ticket; NotFound if it is another ticket's (the caller may not read that one)."""
    row = uow.session.get(Attachment, attachment_id)
    if row is None or row.ticket_id != ticket_id or not row.sha256:  # no sha256: removed by an erasure
        raise NotFound(f"ticket {ticket_id} has no attachment {attachment_id}")
    return row
