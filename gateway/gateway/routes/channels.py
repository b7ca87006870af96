"""Routes of channels: the mailboxes admins connect, the raw-MIME endpoint an MTA pipes a mail
to (or a provider's relay posts it to), and the log of inbound mail; mail out's: a ticket's
delivery log, staff notification settings, the opinion on-call list and template previews."""
from channels import contract

from gateway import accounts
from gateway.access import ADMIN, INBOUND_MAIL_SENDERS, STAFF, TICKET_READERS
from gateway.api import ApiCall, RawBody, Router
from gateway.errors import ApiError

router = Router()

RAW_MAIL = RawBody("message/rfc822", contract.MAX_RAW_BYTES)


@router.api("POST", "/api/v1/channels/mailboxes", roles=ADMIN, body=contract.MailboxCreateSchema,
            response=contract.MailboxSchema, status=201,
            summary="Connect a support mailbox: its IMAP settings (the password by the name of the secret holding "
                    "it), or none for a mailbox whose mail is piped to the inbound route; its team, kind, priority")
def create_mailbox(service, call):
    return service.channels.create_mailbox(call.body)


@router.api("GET", "/api/v1/channels/mailboxes", roles=ADMIN, response=contract.MailboxListSchema,
            summary="List the mailboxes, with where each poller is in its folder and its last error")
def list_mailboxes(service, call):
    return service.channels.list_mailboxes()


@router.api("GET", "/api/v1/channels/mailboxes/<int:mailbox_id>", roles=ADMIN, response=contract.MailboxSchema,
            summary="One mailbox")
def get_mailbox(service, call, mailbox_id):
    return service.channels.get_mailbox(mailbox_id)


@router.api("PATCH", "/api/v1/channels/mailboxes/<int:mailbox_id>", roles=ADMIN, body=contract.MailboxUpdateSchema,
            response=contract.MailboxSchema,
            summary="Change a mailbox (another IMAP server, user or folder starts its UIDs over)")
def update_mailbox(service, call, mailbox_id):
    return service.channels.update_mailbox(mailbox_id, call.body)


@router.api("DELETE", "/api/v1/channels/mailboxes/<int:mailbox_id>", roles=ADMIN, status=204,
            summary="Delete a mailbox with no mail in its log (409 otherwise: deactivate it instead)")
def delete_mailbox(service, call, mailbox_id):
    return service.channels.delete_mailbox(mailbox_id)


@router.api("POST", "/api/v1/channels/mailboxes/<int:mailbox_id>/inbound", roles=INBOUND_MAIL_SENDERS,
            raw=RAW_MAIL, response=contract.InboundMailSchema, status=201,
            alternatives={200: "The same mail (its Message-ID) came before: what became of it then, duplicate true"},
            summary="A raw mail (message/rfc822) for the mailbox, from an MTA pipe or a provider's relay: it opens "
                    "a ticket, joins its ticket, or (a bounce, an auto-reply, bulk mail) opens nothing")
def take_raw_mail(service, call, mailbox_id):
    taken = service.channels.take_raw_mail(mailbox_id, call.body)
    return (200 if taken["duplicate"] else 201), taken


@router.api("GET", "/api/v1/channels/inbound", roles=ADMIN, query=contract.InboundQuerySchema,
            response=contract.InboundMailPageSchema,
            summary="The log of inbound mail, newest first: what became of each (opened, replied, bounce, "
                    "auto_reply, bulk, rate_limited, rejected, pending)")
def list_inbound(service, call):
    return service.channels.list_inbound(call.query)


# -- mail out --------------------------------------------------------------------------------------
@router.api("GET", "/api/v1/tickets/<int:ticket_id>/deliveries", roles=TICKET_READERS,
            response=contract.MailDeliveryListSchema,
            summary="The mails sent or being sent about a ticket: status, attempts, last error, bounces "
                    "(customer addresses masked)")
def list_ticket_deliveries(service, call: ApiCall, ticket_id):
    service.ticketing.ticket_summary(ticket_id)  # the caller may read the ticket, or 404 (no customer data read)
    return service.channels.list_deliveries(ticket_id)


@router.api("GET", "/api/v1/me/notifications", roles=STAFF, response=contract.NotificationPreferenceSchema,
            summary="My notification settings: address, language, each kind on or off")
def my_notifications(service, call: ApiCall):
    return service.channels.notification_preferences()


@router.api("PUT", "/api/v1/me/notifications", roles=STAFF, body=contract.NotificationPreferenceUpdateSchema,
            response=contract.NotificationPreferenceSchema,
            summary="Change my notification settings (assignment, SLA warning and breach, opinion alerts)")
def set_my_notifications(service, call: ApiCall):
    return service.channels.set_notification_preferences(call.body)


@router.api("GET", "/api/v1/channels/on-call", roles=ADMIN, response=contract.OnCallSchema,
            summary="Who is mailed opinion alerts of levels II and I (M6)")
def opinion_on_call(service, call: ApiCall):
    return service.channels.on_call()


@router.api("PUT", "/api/v1/channels/on-call", roles=ADMIN, body=contract.OnCallUpdateSchema,
            response=contract.OnCallSchema, summary="Replace the opinion on-call list (accounts only)")
def set_opinion_on_call(service, call: ApiCall):
    unknown = sorted(set(call.body["usernames"]) - accounts.existing(service.db, call.body["usernames"]))
    if unknown:
        raise ApiError(400, "invalid_input", "the on-call list names people who have no account",
                       {"usernames": [f"{name!r} is not an account" for name in unknown]})
    return service.channels.set_on_call(call.body)


@router.api("GET", "/api/v1/channels/templates/preview", roles=ADMIN, query=contract.TemplatePreviewQuerySchema,
            response=contract.TemplatePreviewSchema,
            summary="A mail template rendered with sample data (subject, text and HTML)")
def preview_mail_template(service, call: ApiCall):
    return service.channels.preview_template(call.query)
