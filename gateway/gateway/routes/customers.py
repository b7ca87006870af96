"""Routes of ticketing's customers and organisations (docs/customers.md): the customer record
found by any contact, their tickets, merging duplicates, erasure on request and its audit."""
from werkzeug.utils import redirect

from gateway.access import ADMIN, CUSTOMER_READERS, CUSTOMER_WRITERS, ORGANISATION_WRITERS, TICKET_READERS
from gateway.api import ApiCall, Router
from ticketing import contract

router = Router()


@router.api("POST", "/api/v1/customers", roles=CUSTOMER_WRITERS, body=contract.CustomerCreateSchema,
            response=contract.CustomerRecordSchema, status=201,
            summary="Add a customer with their contacts (409 names the customer holding a contact already)")
def create_customer(service, call: ApiCall):
    return service.ticketing.create_customer(call.body)


@router.api("GET", "/api/v1/customers", roles=CUSTOMER_READERS, query=contract.CustomerListQuerySchema,
            response=contract.CustomerPageSchema, summary=(
                "Find customers by any contact however written (?contact=+86 138 0000 5678), part of the name or "
                "organisation, newest first"))
def list_customers(service, call: ApiCall):
    return service.ticketing.list_customers(call.query)


@router.api("GET", "/api/v1/customers/<int:customer_id>", roles=CUSTOMER_READERS,
            response=contract.CustomerRecordSchema, summary=(
                "A customer, in full (recorded) except to an agent who owns none of their tickets; a merged one "
                "answers 301 to the customer it was merged into"))
def get_customer(service, call: ApiCall, customer_id):
    customer = service.ticketing.get_customer(customer_id)
    if customer["merged_into_id"] is not None:
        return redirect(f"/api/v1/customers/{customer['merged_into_id']}", code=301)
    return customer


@router.api("PATCH", "/api/v1/customers/<int:customer_id>", roles=CUSTOMER_WRITERS,
            body=contract.CustomerUpdateSchema, response=contract.CustomerRecordSchema,
            summary="Edit a customer: name, language, tier, organisation, contacts (the whole list)")
def update_customer(service, call: ApiCall, customer_id):
    return service.ticketing.update_customer(customer_id, call.body)


@router.api("GET", "/api/v1/customers/<int:customer_id>/tickets", roles=TICKET_READERS,
            query=contract.CustomerTicketsQuerySchema, response=contract.TicketPageSchema,
            summary="A customer's tickets you may read, newest first (customers masked, as in every list)")
def customer_tickets(service, call: ApiCall, customer_id):
    return service.ticketing.customer_tickets(customer_id, call.query)


@router.api("POST", "/api/v1/customers/<int:customer_id>/merge", roles=ADMIN, body=contract.CustomerMergeSchema,
            response=contract.CustomerRecordSchema, summary=(
                "Merge a duplicate customer into another: contacts and tickets move there, the duplicate redirects "
                "(publishes customer.merged)"))
def merge_customer(service, call: ApiCall, customer_id):
    return service.ticketing.merge_customer(customer_id, call.body)


@router.api("POST", "/api/v1/customers/<int:customer_id>/erasure", roles=ADMIN, body=contract.ErasureRequestSchema,
            response=contract.ErasureSchema, summary=(
                "Erase a customer's personal data everywhere, on their request; figures stay (publishes "
                "customer.erased; cannot be undone)"))
def erase_customer(service, call: ApiCall, customer_id):
    return service.ticketing.erase_customer(customer_id, call.body)


@router.api("GET", "/api/v1/audit/erasures", roles=ADMIN, query=contract.ErasureQuerySchema,
            response=contract.ErasurePageSchema,
            summary="Every erasure of personal data, on request or by retention: who, when, whose, how much")
def list_erasures(service, call: ApiCall):
    return service.ticketing.list_erasures(call.query)


@router.api("POST", "/api/v1/organisations", roles=ORGANISATION_WRITERS, body=contract.OrganisationCreateSchema,
            response=contract.OrganisationSchema, status=201,
            summary="Add an organisation: its mail domains place new customers in it, its tier is theirs by default")
def create_organisation(service, call: ApiCall):
    return service.ticketing.create_organisation(call.body)


@router.api("GET", "/api/v1/organisations", roles=CUSTOMER_READERS, query=contract.OrganisationListQuerySchema,
            response=contract.OrganisationPageSchema, summary="Organisations by name or mail domain")
def list_organisations(service, call: ApiCall):
    return service.ticketing.list_organisations(call.query)


@router.api("GET", "/api/v1/organisations/<int:organisation_id>", roles=CUSTOMER_READERS,
            response=contract.OrganisationSchema, summary="An organisation and how many customers are in it")
def get_organisation(service, call: ApiCall, organisation_id):
    return service.ticketing.get_organisation(organisation_id)


@router.api("PATCH", "/api/v1/organisations/<int:organisation_id>", roles=ORGANISATION_WRITERS,
            body=contract.OrganisationUpdateSchema, response=contract.OrganisationSchema,
            summary="Edit an organisation: name, domains (the whole list), tier")
def update_organisation(service, call: ApiCall, organisation_id):
    return service.ticketing.update_organisation(organisation_id, call.body)


@router.api("DELETE", "/api/v1/organisations/<int:organisation_id>", roles=ADMIN, status=204,
            summary="Delete an organisation no customer is in (409 otherwise)")
def delete_organisation(service, call: ApiCall, organisation_id):
    service.ticketing.delete_organisation(organisation_id)
