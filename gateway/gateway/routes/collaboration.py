"""Routes of the agent workspace (docs/workspace.md): saved views of the ticket list with their
counts, who else is on a ticket (presence), followers, and linked tickets. @mentions ride on
POST /api/v1/tickets/{id}/messages (an internal note). Ticketing checks every object against the
caller's ticket scope: out of it, 404."""
from gateway.access import TICKET_HANDLERS, TICKET_READERS
from gateway.api import ApiCall, Router
from ticketing import contract

router = Router()


# -- views --------------------------------------------------------------------------------
@router.api("GET", "/api/v1/views", roles=TICKET_READERS, response=contract.ViewListSchema, summary=(
                "Your views: the built-in ones, your own and those shared with you, each with its count "
                f"(up to {contract.VIEW_COUNT_CAP})"))
def list_views(service, call: ApiCall):
    return service.ticketing.list_views()


@router.api("POST", "/api/v1/views", roles=TICKET_READERS, body=contract.ViewCreateSchema,
            response=contract.ViewSchema, status=201, summary=(
                "Save a view: filters as GET /api/v1/tickets takes them (relative values allowed), sort, columns; "
                "personal, or shared with a team (its supervisors) or everyone (admins)"))
def create_view(service, call: ApiCall):
    return service.ticketing.create_view(call.body)


@router.api("GET", "/api/v1/views/<view_id>", roles=TICKET_READERS, response=contract.ViewSchema,
            summary="A view: a built-in by its key, or a saved one you may see")
def get_view(service, call: ApiCall, view_id):
    return service.ticketing.get_view(view_id)


@router.api("PATCH", "/api/v1/views/<view_id>", roles=TICKET_READERS, body=contract.ViewUpdateSchema,
            response=contract.ViewSchema, summary="Change a view you may change (yours; a team's as its supervisor)")
def update_view(service, call: ApiCall, view_id):
    return service.ticketing.update_view(view_id, call.body)


@router.api("DELETE", "/api/v1/views/<view_id>", roles=TICKET_READERS, status=204,
            summary="Delete a view you may change")
def delete_view(service, call: ApiCall, view_id):
    service.ticketing.delete_view(view_id)


@router.api("GET", "/api/v1/views/<view_id>/tickets", roles=TICKET_READERS, query=contract.ViewTicketsQuerySchema,
            response=contract.ViewTicketPageSchema,
            summary="Run a view: a page of its tickets within your scope, sorted as it says (customers masked)")
def view_tickets(service, call: ApiCall, view_id):
    return service.ticketing.view_tickets(view_id, call.query)


# -- presence -------------------------------------------------------------------------------
@router.api("POST", "/api/v1/tickets/<int:ticket_id>/presence", roles=TICKET_READERS,
            body=contract.PresenceUpdateSchema, response=contract.PresenceListSchema, summary=(
                f"I am viewing or replying to this ticket (a heartbeat, kept {contract.PRESENCE_SECONDS} s); "
                "answers who else is on it"))
def presence_heartbeat(service, call: ApiCall, ticket_id):
    return service.ticketing.presence_heartbeat(ticket_id, call.body)


@router.api("GET", "/api/v1/tickets/<int:ticket_id>/presence", roles=TICKET_READERS,
            response=contract.PresenceListSchema, summary="Who else is viewing or replying to this ticket now")
def ticket_presence(service, call: ApiCall, ticket_id):
    return service.ticketing.presence(ticket_id)


# -- followers ------------------------------------------------------------------------------
@router.api("GET", "/api/v1/tickets/<int:ticket_id>/followers", roles=TICKET_READERS,
            response=contract.FollowerListSchema, summary="Who follows this ticket")
def list_followers(service, call: ApiCall, ticket_id):
    return service.ticketing.list_followers(ticket_id)


@router.api("POST", "/api/v1/tickets/<int:ticket_id>/followers", roles=TICKET_READERS, body=contract.FollowSchema,
            response=contract.FollowerListSchema, summary=(
                "Follow a ticket (mails of its public replies, state milestones and assignment); a supervisor or "
                "admin may add staff who can read it"))
def follow_ticket(service, call: ApiCall, ticket_id):
    return service.ticketing.follow_ticket(ticket_id, call.body)


@router.api("DELETE", "/api/v1/tickets/<int:ticket_id>/followers", roles=TICKET_READERS,
            query=contract.UnfollowQuerySchema, status=204,
            summary="Stop following a ticket (?username=: a supervisor or admin stops another)")
def unfollow_ticket(service, call: ApiCall, ticket_id):
    service.ticketing.unfollow_ticket(ticket_id, call.query)


# -- linked tickets -------------------------------------------------------------------------
@router.api("GET", "/api/v1/tickets/<int:ticket_id>/links", roles=TICKET_READERS, response=contract.LinkListSchema,
            summary="Tickets linked to this one (parent, children, related) that you may read")
def list_ticket_links(service, call: ApiCall, ticket_id):
    return service.ticketing.list_links(ticket_id)


@router.api("POST", "/api/v1/tickets/<int:ticket_id>/links", roles=TICKET_HANDLERS, body=contract.LinkCreateSchema,
            response=contract.LinkListSchema, status=201, summary=(
                "Link another ticket as this one's parent, child or related (publishes ticket.linked; 409: linked "
                "already, a second parent, or a cycle)"))
def link_ticket(service, call: ApiCall, ticket_id):
    return service.ticketing.link_ticket(ticket_id, call.body)


@router.api("DELETE", "/api/v1/tickets/<int:ticket_id>/links/<int:linked_id>", roles=TICKET_HANDLERS, status=204,
            summary="Unlink two tickets (publishes ticket.unlinked; not linked: nothing to do)")
def unlink_ticket(service, call: ApiCall, ticket_id, linked_id):
    service.ticketing.unlink_ticket(ticket_id, linked_id)
