"""The customer record as the rest of ticketing uses it, inside the caller's transaction: the
customer a new ticket is for (found by its contact, else made), contacts and their owners,
what a caller is shown of a customer, and the audit of it. ``tickets.steps.open_ticket`` calls
``for_new_ticket``; the customer use cases (``handlers``) build on the rest."""
from sqlalchemy import exists, select

from plumbing.config import setting
from plumbing.db import upsert_insert
from plumbing.privacy import mask_contact, mask_name
from plumbing.unit_of_work import utc_now
from ticketing.customers import rules
from ticketing.models import Customer, CustomerContact, CustomerDataAccess, CustomerHistory, Organisation, \
    OrganisationDomain, Ticket
from ticketing.tickets.rules import sees_customer


def country_code(config) -> str:
    """The desk's default country code, for phone numbers written without one (``TICKETING_DEFAULT_COUNTRY_CODE``)."""
    return str(setting(config or {}, "ticketing", "DEFAULT_COUNTRY_CODE", rules.DEFAULT_COUNTRY_CODE)).lstrip("+")


def contact_key(contact: str, config) -> tuple[str, str] | None:
    """(kind, normalised) of a ticket's free contact field; None if it cannot be normalised."""
    kind = rules.classify(contact)
    try:
        return kind, rules.normalise(kind, contact, country_code(config))
    except rules.BadContact:
        return None


def owner_of(session, kind, normalised) -> Customer | None:
    """The customer holding a contact; a merged customer's survivor (contacts move, but a record made
    before the move may still name it)."""
    customer_id = session.scalar(select(CustomerContact.customer_id).where(
        CustomerContact.kind == kind, CustomerContact.normalised == normalised))
    customer = session.get(Customer, customer_id) if customer_id is not None else None
    while customer is not None and customer.merged_into_id is not None:
        customer = session.get(Customer, customer.merged_into_id)
    return customer


def for_new_ticket(uow, fields, config):
    """Set ``customer_id`` and ``customer_tier`` of a new ticket's ``fields``: the customer holding its contact,
    else a new one made from the ticket's customer (found by any service that opens tickets: the API, mail,
    imports, opinion alerts). The tier the ticket names wins, else the customer's."""
    given = fields["customer"]
    customer = find_or_make(uow, given["name"], given["contact"], config)
    fields["customer_id"] = customer.id if customer is not None else None
    if not fields.get("customer_tier"):
        fields["customer_tier"] = tier_of(uow.session, customer) if customer is not None else rules.DEFAULT_TIER


def find_or_make(uow, name, contact, config):
    key = contact_key(contact, config)
    if key is None:
        return None
    session = uow.session
    customer = owner_of(session, *key)
    if customer is not None:
        return customer
    now = uow.now()
    customer = Customer(name=name, organisation_id=organisation_by_domain(session, *key), created_at=now,
                        updated_at=now)
    session.add(customer)
    session.flush()
    # a concurrent ticket from the same new contact: one of the two makes it, the other finds it
    table = CustomerContact.__table__
    taken = session.execute(upsert_insert(session)(table).on_conflict_do_nothing().returning(table.c.id), dict(
        customer_id=customer.id, kind=key[0], value=contact.strip()[:200], normalised=key[1])).first()
    if taken is None:
        session.delete(customer)
        session.flush()
        return owner_of(session, *key)
    session.expire(customer, ["contacts"])
    journal(uow, customer.id, "created", {"from": "ticket"})  # the ticket's own audit row records the storing
    return customer


def organisation_by_domain(session, kind, normalised):
    if kind != rules.EMAIL_KIND:
        return None
    return session.scalar(select(OrganisationDomain.organisation_id).where(
        OrganisationDomain.domain == rules.email_domain(normalised)))


def tier_of(session, customer) -> str:
    organisation = session.get(Organisation, customer.organisation_id) if customer.organisation_id else None
    return rules.effective_tier(customer.tier, organisation.tier if organisation else None)


def sees_in_full(uow, customer) -> bool:
    """Supervisors, admins, integrations and services see a customer in full; an agent only one whose
    ticket she owns (X6, as on a ticket: ``tickets.rules.sees_customer``)."""
    caller = uow.caller
    if sees_customer(caller.roles, caller.actor, None):
        return True
    return caller.actor is not None and bool(uow.session.scalar(select(exists().where(
        Ticket.customer_id == customer.id, Ticket.assignee == caller.actor))))


def view(uow, customer, full=None):
    """The customer as the caller may see them (recorded when shown in full); ``full`` True: the caller has
    just written them (created, updated, merged: recorded as such)."""
    if full is None and customer.erased_at is not None:
        full = True  # nothing personal is left to mask or to record
    if full is None:
        full = sees_in_full(uow, customer)
        if full:
            audit(uow, customer.id, "read")
    contacts = [{"kind": c.kind, "value": c.value if full else mask_contact(c.value),
                 "normalised": c.normalised if full else None} for c in customer.contacts]
    return {"id": customer.id, "name": customer.name if full else mask_name(customer.name),
            "language": customer.language, "tier": customer.tier, "effective_tier": tier_of(uow.session, customer),
            "organisation_id": customer.organisation_id, "contacts": contacts, "masked": not full,
            "merged_into_id": customer.merged_into_id, "erased_at": customer.erased_at,
            "created_at": customer.created_at, "updated_at": customer.updated_at}


def audit(uow, customer_id, action, ticket_id=None):
    """Who stored, changed, merged, erased or was shown a customer record (the customer-data audit, X6):
    once per customer, action and call."""
    seen = uow.results.setdefault("customer_records_accessed", set())
    if (customer_id, action) in seen:
        return
    seen.add((customer_id, action))
    uow.session.add(CustomerDataAccess(ticket_id=ticket_id, customer_id=customer_id, at=utc_now(),
                                       actor=uow.caller.actor, action=action, request_id=uow.caller.request_id))


def journal(uow, customer_id, action, changes):
    uow.session.add(CustomerHistory(customer_id=customer_id, at=uow.now(), actor=uow.actor, action=action,
                                    changes=changes))
