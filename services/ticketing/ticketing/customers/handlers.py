"""Customer and organisation use cases (docs/customers.md): the record and its contacts, lookup by
any contact, a customer's tickets, merging duplicates, erasure on request and the retention sweep.
The customer a new ticket is for is found or made by ``records.for_new_ticket``."""
import logging

from sqlalchemy import func, or_, select, update

from plumbing.config import setting
from plumbing.db import get_or_not_found
from plumbing.errors import Conflict, InvalidInput, load_or_invalid as load
from plumbing.paging import contains_text, fetch_page
from plumbing.schemas import shared
from ticketing import events
from ticketing.contract import (
    CustomerCreateSchema, CustomerListQuerySchema, CustomerMergeSchema, CustomerPageSchema, CustomerRecordSchema,
    CustomerTicketsQuerySchema, CustomerUpdateSchema, ErasurePageSchema, ErasureQuerySchema, ErasureRequestSchema,
    ErasureSchema, OrganisationCreateSchema, OrganisationListQuerySchema, OrganisationPageSchema, OrganisationSchema,
    OrganisationUpdateSchema, TicketPageSchema,
)
from ticketing.customers import erasure, records, rules
from ticketing.models import (
    Customer, CustomerContact, CustomerErasure, Organisation, OrganisationDomain, Ticket, TicketHistory,
)
from ticketing.tickets import steps
from ticketing.webhooks import handlers as webhooks

log = logging.getLogger(__name__)

RETENTION_SECONDS = 3600
DEFAULT_RETENTION_BATCH = 200
DEFAULT_RETENTION_BATCHES = 10  # per tick: a backlog (the first run on an old desk) is worked off over hours


# -- the customer record ------------------------------------------------------------------
def create_customer(uow, data, config):
    fields = load(CustomerCreateSchema, data)
    with uow.transaction():
        check_organisation(uow, fields["organisation_id"])
        now = uow.now()
        customer = Customer(name=fields["name"], language=fields["language"], tier=fields["tier"],
                            organisation_id=fields["organisation_id"], created_at=now, updated_at=now)
        uow.session.add(customer)
        uow.session.flush()
        keys = set_contacts(uow, customer, fields["contacts"], config)
        if customer.organisation_id is None:
            customer.organisation_id = next(filter(None, (records.organisation_by_domain(uow.session, *key)
                                                          for key in keys)), None)
        records.journal(uow, customer.id, "created", {"from": "api"})
        records.audit(uow, customer.id, "created")
        return shared(CustomerRecordSchema).dump(records.view(uow, customer, full=True))


def get_customer(uow, customer_id):
    """The customer as the caller may see them; a merged one names its survivor (the gateway redirects)."""
    with uow.transaction():  # showing the customer in full is recorded
        return shared(CustomerRecordSchema).dump(records.view(uow, get_or_not_found(uow.session, Customer,
                                                                                      customer_id)))


def update_customer(uow, customer_id, data, config):
    fields = load(CustomerUpdateSchema, data)
    if not fields:
        raise InvalidInput("nothing to change", {"_schema": ["give at least one field"]})
    with uow.transaction():
        customer = live(uow, customer_id)
        if "organisation_id" in fields:
            check_organisation(uow, fields["organisation_id"])
        for name in ("name", "language", "tier", "organisation_id"):
            if name in fields:
                setattr(customer, name, fields[name])
        if "contacts" in fields:
            set_contacts(uow, customer, fields["contacts"], config)
        customer.updated_at = uow.now()
        records.journal(uow, customer.id, "updated", {"fields": sorted(fields)})  # which, not their values
        records.audit(uow, customer.id, "updated")
        return shared(CustomerRecordSchema).dump(records.view(uow, customer, full=True))


def set_contacts(uow, customer, contacts, config):
    """Replace the customer's contacts; one another customer holds is a Conflict naming them (merge them)."""
    code, keys, problems = records.country_code(config), [], {}
    for index, contact in enumerate(contacts):
        try:
            keys.append((contact["kind"], rules.normalise(contact["kind"], contact["value"], code)))
        except rules.BadContact as exc:
            problems[str(index)] = {"value": [str(exc)]}
    if problems:
        raise InvalidInput("contacts are not what their kind says", {"contacts": problems})
    if len(set(keys)) != len(keys):
        raise InvalidInput("a contact is given twice", {"contacts": ["the same contact twice"]})
    for index, key in enumerate(keys):
        holder = records.owner_of(uow.session, *key)
        if holder is not None and holder.id != customer.id:
            raise Conflict(f"contact {index} is customer {holder.id}'s: merge the two customers instead",
                           {"contacts": {str(index): [f"held by customer {holder.id}"]}})
    customer.contacts.clear()
    uow.session.flush()  # the old rows go before the new ones take their keys
    customer.contacts.extend(CustomerContact(kind=kind, value=contact["value"].strip(), normalised=normalised)
                             for (kind, normalised), contact in zip(keys, contacts))
    uow.session.flush()
    return keys


def live(uow, customer_id):
    """The customer, locked, if they may change: not merged away, not erased (Conflict)."""
    customer = get_or_not_found(uow.session, Customer, customer_id, lock=True)
    if customer.merged_into_id is not None:
        raise Conflict(f"customer {customer_id} was merged into {customer.merged_into_id}",
                       {"customer_id": [f"merged into {customer.merged_into_id}"]})
    if customer.erased_at is not None:
        raise Conflict(f"customer {customer_id} was erased", {"customer_id": ["erased"]})
    return customer


def check_organisation(uow, organisation_id):
    if organisation_id is not None and uow.session.get(Organisation, organisation_id) is None:
        raise InvalidInput(f"organisation {organisation_id} does not exist",
                           {"organisation_id": ["no such organisation"]})


def list_customers(uow, query, config):
    """Customers by contact (however written), part of the name or organisation, newest first."""
    criteria = load(CustomerListQuerySchema, query or {})
    asked, conditions = dict(criteria), []  # a cursor is for these filters, those made conditions too
    if "contact" in criteria:
        conditions.append(Customer.id.in_(contact_holders(criteria.pop("contact"), config)))
    if "name" in criteria:
        conditions.append(contains_text(Customer.name, criteria.pop("name")))
    with uow.transaction():
        page = fetch_page(uow.session, Customer, criteria, [Customer.id.desc()], conditions, query=asked)
        page["items"] = [records.view(uow, customer) for customer in page["items"]]
        return shared(CustomerPageSchema).dump(page)


def contact_holders(contact, config):
    """The ids of the customers holding ``contact`` read as any kind it can be (a number may be a handle)."""
    code, keys = records.country_code(config), []
    for kind in rules.EMAIL_KIND, rules.PHONE_KIND, rules.SOCIAL_KIND:
        try:
            keys.append((kind, rules.normalise(kind, contact, code)))
        except rules.BadContact:
            continue
    return select(CustomerContact.customer_id).where(or_(*(
        (CustomerContact.kind == kind) & (CustomerContact.normalised == normalised) for kind, normalised in keys)))


def customer_tickets(uow, customer_id, query):
    """The customer's tickets the caller may read, newest first (customers masked, as in any list)."""
    criteria = load(CustomerTicketsQuerySchema, query or {})
    get_or_not_found(uow.session, Customer, customer_id)
    page = fetch_page(uow.session, Ticket, criteria, [Ticket.id.desc()],
                      [Ticket.customer_id == customer_id, steps.readable_condition(uow)])
    return shared(TicketPageSchema).dump(page)


# -- merging duplicates -----------------------------------------------------------------------
def merge_customer(uow, customer_id, data):
    """Merge a duplicate into the customer that stays: contacts and tickets move there (each ticket's history
    says so), what the survivor lacks (language, tier, organisation) is taken over, and the duplicate
    answers with a redirect from then on."""
    into = load(CustomerMergeSchema, data)["into"]
    if into == customer_id:
        raise InvalidInput("a customer cannot be merged into themselves", {"into": ["must be another customer"]})
    with uow.transaction():
        locked = {cid: live(uow, cid) for cid in sorted((customer_id, into))}  # one lock order: no deadlock
        source, target = locked[customer_id], locked[into]
        session, now = uow.session, uow.now()
        moved = session.scalars(select(Ticket.id).where(Ticket.customer_id == source.id).order_by(Ticket.id)).all()
        session.execute(update(Ticket).where(Ticket.customer_id == source.id).values(customer_id=target.id))
        session.add_all(TicketHistory(ticket_id=ticket_id, at=now, actor=uow.actor, action="customer_merged",
                                      changes={"customer_id": [source.id, target.id]}) for ticket_id in moved)
        contacts = len(source.contacts)
        session.execute(update(CustomerContact).where(CustomerContact.customer_id == source.id)
                        .values(customer_id=target.id))
        session.execute(update(Customer).where(Customer.merged_into_id == source.id).values(merged_into_id=target.id))
        for name in ("language", "tier", "organisation_id"):
            if getattr(target, name) is None:
                setattr(target, name, getattr(source, name))
        source.merged_into_id, source.updated_at, target.updated_at = target.id, now, now
        session.flush()
        session.expire(source, ["contacts"])
        session.expire(target, ["contacts"])
        records.journal(uow, source.id, "merged", {"into": target.id, "tickets": len(moved), "contacts": contacts})
        records.journal(uow, target.id, "absorbed", {"from": source.id, "tickets": len(moved), "contacts": contacts})
        records.audit(uow, source.id, "merged")
        records.audit(uow, target.id, "merged")
        webhooks.record_event(uow, events.CUSTOMER_MERGED, events.CUSTOMER_AGGREGATE, source.id, {
            "customer_id": source.id, "merged_into": target.id, "ticket_ids": list(moved), "actor": uow.actor})
        return shared(CustomerRecordSchema).dump(records.view(uow, target, full=True))


# -- erasure and retention ---------------------------------------------------------------------
def erase_customer(uow, customer_id, data, config):
    """Erase a customer's personal data everywhere ticketing holds it, on their request (the module notes of
    ``erasure``); channels erases its copies on ``customer.erased``. Cannot be undone."""
    load(ErasureRequestSchema, data)
    with uow.transaction():
        customer = live(uow, customer_id)
        row = erasure.erase_customer(uow, customer, config)
    log.info("customer %s erased on request: %s tickets, %s customer messages, %s files", customer_id, row.tickets,
             row.messages, row.attachments)
    return shared(ErasureSchema).dump(row)


def retention_months(config) -> int:
    """``TICKETING_RETENTION_MONTHS``: purge the personal data of tickets closed longer ago; 0 (the default) is off."""
    value = setting(config or {}, "ticketing", "RETENTION_MONTHS", 0)
    try:
        return max(0, int(value or 0))
    except ValueError:
        log.error("TICKETING_RETENTION_MONTHS=%r is not a number of months: retention is off", value)
        return 0


def sweep_retention(uow, config):
    """The retention timer: batches of tickets closed more than the retention months ago lose their personal
    data (the same erasure as on request), each batch one transaction, a bounded number per tick."""
    months = retention_months(config)
    if not months:
        return 0
    batch = int(setting(config, "ticketing", "RETENTION_BATCH", DEFAULT_RETENTION_BATCH))
    batches = int(setting(config, "ticketing", "RETENTION_BATCHES", DEFAULT_RETENTION_BATCHES))
    cutoff, purged = rules.months_before(uow.now(), months), 0
    for _ in range(batches):
        with uow.transaction():
            done = erasure.purge_closed(uow, cutoff, batch, config)
        purged += done
        if done:
            log.info("retention: %s tickets closed before %s purged of personal data (%s this tick)", done,
                     cutoff.date(), purged)
        if done < batch:
            break
    return purged


def list_erasures(uow, query):
    """The erasure audit, newest first."""
    criteria = load(ErasureQuerySchema, query or {})
    page = fetch_page(uow.session, CustomerErasure, criteria, [CustomerErasure.id.desc()])
    return shared(ErasurePageSchema).dump(page)


# -- organisations -------------------------------------------------------------------------------
def create_organisation(uow, data):
    fields = load(OrganisationCreateSchema, data)
    with uow.transaction():
        now = uow.now()
        check_name(uow, fields["name"])
        organisation = Organisation(name=fields["name"], tier=fields["tier"], created_at=now, updated_at=now)
        uow.session.add(organisation)
        uow.session.flush()
        set_domains(uow, organisation, fields["domains"])
        return organisation_view(uow, organisation)


def update_organisation(uow, organisation_id, data):
    fields = load(OrganisationUpdateSchema, data)
    if not fields:
        raise InvalidInput("nothing to change", {"_schema": ["give at least one field"]})
    with uow.transaction():
        organisation = get_or_not_found(uow.session, Organisation, organisation_id, lock=True)
        if "name" in fields and fields["name"] != organisation.name:
            check_name(uow, fields["name"])
            organisation.name = fields["name"]
        if "tier" in fields:
            organisation.tier = fields["tier"]
        if "domains" in fields:
            set_domains(uow, organisation, fields["domains"])
        organisation.updated_at = uow.now()
        return organisation_view(uow, organisation)


def check_name(uow, name):
    if uow.session.scalar(select(Organisation.id).where(Organisation.name == name)) is not None:
        raise Conflict(f"an organisation is called {name!r} already", {"name": ["taken"]})


def set_domains(uow, organisation, domains):
    domains = sorted({rules.normalise_domain(domain) for domain in domains})
    taken = uow.session.execute(select(OrganisationDomain.domain, OrganisationDomain.organisation_id).where(
        OrganisationDomain.domain.in_(domains), OrganisationDomain.organisation_id != organisation.id)).all()
    if taken:
        raise Conflict("a domain is another organisation's", {"domains": {
            row.domain: [f"organisation {row.organisation_id}'s"] for row in taken}})
    organisation.domains.clear()
    uow.session.flush()
    organisation.domains.extend(OrganisationDomain(domain=domain) for domain in domains)
    uow.session.flush()


def get_organisation(uow, organisation_id):
    return organisation_view(uow, get_or_not_found(uow.session, Organisation, organisation_id))


def list_organisations(uow, query):
    criteria = load(OrganisationListQuerySchema, query or {})
    asked, conditions = dict(criteria), []
    if "name" in criteria:
        conditions.append(contains_text(Organisation.name, criteria.pop("name")))
    if "domain" in criteria:
        conditions.append(Organisation.id.in_(select(OrganisationDomain.organisation_id).where(
            OrganisationDomain.domain == rules.normalise_domain(criteria.pop("domain")))))
    page = fetch_page(uow.session, Organisation, criteria, [Organisation.name, Organisation.id], conditions,
                      query=asked)
    page["items"] = [organisation_fields(uow, organisation) for organisation in page["items"]]
    return shared(OrganisationPageSchema).dump(page)


def delete_organisation(uow, organisation_id):
    """Only one no customer is in (Conflict): move or edit them first."""
    with uow.transaction():
        organisation = get_or_not_found(uow.session, Organisation, organisation_id, lock=True)
        members = member_count(uow, organisation.id)
        if members:
            raise Conflict(f"organisation {organisation_id} has {members} customers: move them first",
                           {"customers": [members]})
        uow.session.delete(organisation)


def member_count(uow, organisation_id):
    return uow.session.scalar(select(func.count(Customer.id)).where(Customer.organisation_id == organisation_id))


def organisation_fields(uow, organisation):
    return {"id": organisation.id, "name": organisation.name, "tier": organisation.tier,
            "domains": [row.domain for row in organisation.domains], "customers": member_count(uow, organisation.id),
            "created_at": organisation.created_at, "updated_at": organisation.updated_at}


def organisation_view(uow, organisation):
    return shared(OrganisationSchema).dump(organisation_fields(uow, organisation))
