"""Routes of channels' mail out: a ticket's delivery log, staff notification settings, the
opinion on-call list and template previews."""
from channels import contract
from gateway import accounts
from gateway.access import ADMIN, STAFF, TICKET_READERS
from gateway.api import ApiCall, Router
from gateway.errors import ApiError

router = Router()


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


@router.api("GET", "/api/v1/notifications/on-call", roles=ADMIN, response=contract.OnCallSchema,
            summary="Who is mailed opinion alerts of levels II and I (M6)")
def opinion_on_call(service, call: ApiCall):
    return service.channels.on_call()


@router.api("PUT", "/api/v1/notifications/on-call", roles=ADMIN, body=contract.OnCallUpdateSchema,
            response=contract.OnCallSchema, summary="Replace the opinion on-call list (accounts only)")
def set_opinion_on_call(service, call: ApiCall):
    unknown = sorted(set(call.body["usernames"]) - accounts.existing(service.db, call.body["usernames"]))
    if unknown:
        raise ApiError(400, "invalid_input", "the on-call list names people who have no account",
                       {"usernames": [f"{name!r} is not an account" for name in unknown]})
    return service.channels.set_on_call(call.body)


@router.api("GET", "/api/v1/mail/templates/preview", roles=ADMIN, query=contract.TemplatePreviewQuerySchema,
            response=contract.TemplatePreviewSchema,
            summary="A mail template rendered with sample data (subject, text and HTML)")
def preview_mail_template(service, call: ApiCall):
    return service.channels.preview_template(call.query)
