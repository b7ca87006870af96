"""Routes of the agent workspace (docs/workspace.md): editing a ticket (with If-Match) and many
at once, canned responses filled in for a ticket, and macros applied to one."""
from gateway.access import TICKET_HANDLERS
from gateway.api import ApiCall, Router
from gateway.routes.tickets import with_etag
from ticketing import contract

router = Router()
BULK_CHUNK = 50  # tickets per RPC: each answers well within the RPC timeout, whatever the bulk's size


@router.api("PATCH", "/api/v1/tickets/<int:ticket_id>", roles=TICKET_HANDLERS, body=contract.TicketEditSchema,
            response=contract.TicketDetailSchema, conditional=True, etag=True, summary=(
                "Edit a ticket's subject, priority, kind, team, tags, custom fields or required skills, on the "
                "version you read (If-Match); each change a history entry, publishes ticket.updated"))
def edit_ticket(service, call: ApiCall, ticket_id):
    return with_etag(service.ticketing.edit_ticket(ticket_id, call.body, call.if_match))


@router.api("POST", "/api/v1/tickets/bulk", roles=TICKET_HANDLERS, body=contract.BulkEditSchema,
            response=contract.BulkResultSchema, summary=(
                f"One change set on up to {contract.MAX_BULK} tickets, each in a transaction of its own: a result "
                "per ticket (ok, or the 403/404/409/422 its own change would get; outside your scope: 404)"))
def bulk_edit_tickets(service, call: ApiCall):
    ids, items = call.body["ids"], []
    for start in range(0, len(ids), BULK_CHUNK):
        answer = service.ticketing.bulk_edit({"ids": ids[start:start + BULK_CHUNK], "changes": call.body["changes"]})
        items += answer["items"]
    failed = sum(item["status"] != 200 for item in items)
    return {"items": items, "succeeded": len(items) - failed, "failed": failed}


@router.api("GET", "/api/v1/canned-responses", roles=TICKET_HANDLERS, query=contract.CannedResponseQuerySchema,
            response=contract.CannedResponsePageSchema,
            summary="Canned responses you may use: yours, your teams' and everyone's, by title")
def list_canned_responses(service, call: ApiCall):
    return service.ticketing.list_canned_responses(call.query)


@router.api("POST", "/api/v1/canned-responses", roles=TICKET_HANDLERS, body=contract.CannedResponseCreateSchema,
            response=contract.CannedResponseSchema, status=201, summary=(
                "Write a canned response (zh-CN or en) with placeholders: personal, a team's or everyone's; "
                "an unknown placeholder is a 400 naming it"))
def create_canned_response(service, call: ApiCall):
    return service.ticketing.create_canned_response(call.body)


@router.api("GET", "/api/v1/canned-responses/<int:canned_id>", roles=TICKET_HANDLERS,
            response=contract.CannedResponseSchema, summary="A canned response you may use")
def get_canned_response(service, call: ApiCall, canned_id):
    return service.ticketing.get_canned_response(canned_id)


@router.api("PATCH", "/api/v1/canned-responses/<int:canned_id>", roles=TICKET_HANDLERS,
            body=contract.CannedResponseUpdateSchema, response=contract.CannedResponseSchema,
            summary="Change a canned response: yours, your team's, or (supervisors) everyone's")
def update_canned_response(service, call: ApiCall, canned_id):
    return service.ticketing.update_canned_response(canned_id, call.body)


@router.api("DELETE", "/api/v1/canned-responses/<int:canned_id>", roles=TICKET_HANDLERS, status=204,
            summary="Delete a canned response you may change")
def delete_canned_response(service, call: ApiCall, canned_id):
    service.ticketing.delete_canned_response(canned_id)


@router.api("POST", "/api/v1/canned-responses/<int:canned_id>/render", roles=TICKET_HANDLERS,
            body=contract.RenderSchema, response=contract.RenderedSchema, summary=(
                "A canned response filled in for a ticket you may read (the customer masked where you may not "
                "see them)"))
def render_canned_response(service, call: ApiCall, canned_id):
    return service.ticketing.render_canned_response(canned_id, call.body)


@router.api("GET", "/api/v1/macros", roles=TICKET_HANDLERS, query=contract.LibraryQuerySchema,
            response=contract.MacroPageSchema, summary="Macros you may apply: yours, your teams' and everyone's")
def list_macros(service, call: ApiCall):
    return service.ticketing.list_macros(call.query)


@router.api("POST", "/api/v1/macros", roles=TICKET_HANDLERS, body=contract.MacroCreateSchema,
            response=contract.MacroSchema, status=201, summary=(
                "Make a macro: actions (reply, state, tags, assignment, priority) applied together; personal, a "
                "team's or everyone's"))
def create_macro(service, call: ApiCall):
    return service.ticketing.create_macro(call.body)


@router.api("GET", "/api/v1/macros/<int:macro_id>", roles=TICKET_HANDLERS, response=contract.MacroSchema,
            summary="A macro you may apply")
def get_macro(service, call: ApiCall, macro_id):
    return service.ticketing.get_macro(macro_id)


@router.api("PATCH", "/api/v1/macros/<int:macro_id>", roles=TICKET_HANDLERS, body=contract.MacroUpdateSchema,
            response=contract.MacroSchema, summary="Change a macro: yours, your team's, or (supervisors) everyone's")
def update_macro(service, call: ApiCall, macro_id):
    return service.ticketing.update_macro(macro_id, call.body)


@router.api("DELETE", "/api/v1/macros/<int:macro_id>", roles=TICKET_HANDLERS, status=204,
            summary="Delete a macro you may change")
def delete_macro(service, call: ApiCall, macro_id):
    service.ticketing.delete_macro(macro_id)


@router.api("POST", "/api/v1/tickets/<int:ticket_id>/macro", roles=TICKET_HANDLERS, body=contract.MacroApplySchema,
            response=contract.TicketDetailSchema, conditional=True, etag=True, errors=(422,), summary=(
                "Apply a macro to the ticket on the version you read (If-Match): every action in one transaction "
                "and one history entry, or none (409/422 naming the action that failed)"))
def apply_macro(service, call: ApiCall, ticket_id):
    return with_etag(service.ticketing.apply_macro(ticket_id, call.body, call.if_match))
