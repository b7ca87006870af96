"""Routes of identity (the gateway's own): signing in and out, accounts and passwords, the caller's
own account and duty."""
import logging
import time

import eventlet
import eventlet.tpool

from gateway import accounts, auth, events, logins, schemas, settings
from gateway.access import ACCOUNT_HOLDERS, ADMIN, STAFF, SUPERVISORS, check_account_changes
from gateway.api import ApiCall, Router
from gateway.errors import ApiError
from plumbing.errors import NotFound
from plumbing.schemas import shared

log = logging.getLogger(__name__)

UNKNOWN_USER_HASH = auth.hash_password("no such user")

router = Router()


@router.api("POST", "/api/v1/auth/token", body=schemas.TokenRequestSchema, response=schemas.TokenSchema,
            errors=(401, 429),
            summary="Exchange a username and password for a bearer token (failed attempts are rate-limited)")
def issue_token(service, call: ApiCall):
    account = password_check(service, call, call.body["username"], call.body["password"])
    if account is None:
        raise ApiError(401, "unauthorized", "wrong username or password")
    return new_token(service, account)


@router.api("POST", "/api/v1/auth/sign-out", roles=ACCOUNT_HOLDERS, status=204,
            summary="Sign out: every token of the caller's account stops working, on every gateway replica")
def sign_out(service, call: ApiCall):
    with service.db.begin():
        accounts.revoke_tokens(accounts.get(service.db, call.principal.username))


@router.api("PUT", "/api/v1/me/password", roles=ACCOUNT_HOLDERS, body=schemas.PasswordChangeSchema,
            response=schemas.TokenSchema, errors=(429,), summary=(
                "Change your own password, giving the current one (a wrong one counts as a failed sign-in): "
                "every token of yours stops working; the answer is a new one"))
def change_own_password(service, call: ApiCall):
    username = call.principal.username
    if password_check(service, call, username, call.body["current_password"]) is None:
        raise ApiError(403, "forbidden", "the current password is wrong", {"current_password": ["wrong password"]})
    return new_token(service, set_password(service, username, call.body["new_password"]))


@router.api("PUT", "/api/v1/accounts/<username>/password", roles=ADMIN, body=schemas.PasswordResetSchema,
            response=schemas.AccountSchema,
            summary="Reset another account's password: every token of that account stops working")
def reset_password(service, call: ApiCall, username):
    if username == call.principal.username:  # a stolen token must not be enough to take an admin account
        raise ApiError(403, "forbidden", "change your own password with PUT /api/v1/me/password",
                       {"username": ["your own: the current password is needed"]})
    account = set_password(service, username, call.body["new_password"])
    log.info("%s reset the password of %s", call.principal.username, username)
    return shared(schemas.AccountSchema).dump(account)


def password_check(service, call, username, password):
    """The active account ``username`` if ``password`` is its own, else None. The attempt is
    counted by the sign-in rate limit before the password is checked (``gateway.logins``);
    past the limit it is refused (429) unchecked: a guess answered 401 or 200 would still tell."""
    attempt = counted_attempt(service, call, username)
    with service.db.begin():
        account = accounts.find(service.db, username)
    # the same argon2 work for unknown users, so timing does not tell who exists
    password_hash = account.password_hash if account else UNKNOWN_USER_HASH
    verified = eventlet.tpool.execute(auth.verify_password, password_hash, password)
    if not (verified and account and account.active):
        with service.db.begin():
            logins.failed(service.db, username, call.client_address, attempt)
        logins.LOGINS_REFUSED.labels("wrong_credentials").inc()
        return None
    with service.db.begin():
        logins.succeeded(service.db, username, call.client_address, attempt)
    return account


def counted_attempt(service, call, username) -> list[int]:
    """The rows counting this attempt, or 429; waits while checks in progress fill the limit."""
    limits = settings.login_limits(service.config)
    deadline, pause = time.monotonic() + logins.BUSY_WAIT_SECONDS, 0.05
    while True:
        with service.db.begin():
            wait, attempt = logins.begin(service.db, limits, username, call.client_address, accounts.now())
        if wait is None:
            return attempt
        if wait != logins.BUSY or time.monotonic() > deadline:
            break
        eventlet.sleep(pause)
        pause = min(pause * 2, 0.5)
    wait = max(wait, 1)
    logins.LOGINS_REFUSED.labels("rate_limited").inc()
    raise ApiError(429, "too_many_attempts", f"too many failed sign-ins: try again in {wait} s",
                   {"retry_after": wait}, headers={"Retry-After": str(wait)})


def set_password(service, username, password):
    """A new password for the account, which revokes its tokens."""
    password_hash = eventlet.tpool.execute(auth.hash_password, password)
    with service.db.begin():
        account = accounts.get(service.db, username)
        accounts.set_password(account, password_hash)
    return account


def new_token(service, account):
    ttl = settings.token_ttl_seconds(service.config)
    token = auth.issue_token(settings.secrets(service.config).jwt_secret, account.username, account.roles, ttl,
                             account.token_generation)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}


@router.api("POST", "/api/v1/accounts", roles=ADMIN, body=schemas.AccountCreateSchema,
            response=schemas.AccountSchema, status=201,
            summary="Create a staff or integration account (publishes staff.account_created)")
def create_account(service, call: ApiCall):
    body = dict(call.body)
    password_hash = eventlet.tpool.execute(auth.hash_password, body.pop("password"))
    with service.db.begin():
        account = accounts.create(service.db, password_hash=password_hash, **body)
        service.events.record(service.db, events.STAFF_ACCOUNT_CREATED, events.AGGREGATE, account.username, account)
    return shared(schemas.AccountSchema).dump(account)


@router.api("GET", "/api/v1/accounts", roles=SUPERVISORS, response=schemas.AccountListSchema,
            summary="List accounts")
def list_accounts(service, call: ApiCall):
    return shared(schemas.AccountListSchema).dump({"items": accounts.ordered(service.db)})


@router.api("PATCH", "/api/v1/accounts/<username>", roles=SUPERVISORS, body=schemas.AccountUpdateSchema,
            response=schemas.AccountSchema, summary=(
                "Change an account: roles, activation and anyone's teams (admins); skills and capacity of "
                "supervisors themselves and of their teams' agents, whose teams they change within their own "
                "(supervisors). New roles or a deactivation revoke its tokens"))
def update_account(service, call: ApiCall, username):
    check_account_changes(call.principal, call.body)
    return change_account(service, username, call.body, changer=call.principal)


@router.api("GET", "/api/v1/me", roles=ACCOUNT_HOLDERS, response=schemas.AccountSchema,
            summary="The account the token belongs to")
def me(service, call: ApiCall):
    return shared(schemas.AccountSchema).dump(accounts.get(service.db, call.principal.username))


@router.api("PUT", "/api/v1/me/duty", roles=STAFF, body=schemas.DutySchema, response=schemas.AccountSchema,
            summary="Go on or off duty: routing only gives tickets to agents on duty")
def set_duty(service, call: ApiCall):
    return change_account(service, call.principal.username, call.body)


def change_account(service, username, changes, changer=None):
    """Apply changes (as ``changer`` may) and publish the new snapshot if anything changed (new
    roles or a deactivation revoke the account's tokens in the same transaction)."""
    with service.db.begin():
        account = accounts.get(service.db, username)
        if changer and not changer.has_any(ADMIN):
            check_supervisors_change(accounts.get(service.db, changer.username), account, changes)
        if accounts.update(account, changes):
            service.events.record(service.db, events.STAFF_ACCOUNT_UPDATED, events.AGGREGATE, username, account)
    return shared(schemas.AccountSchema).dump(account)


def check_supervisors_change(supervisor, account, changes):
    """A supervisor's teams are her view of agents' KPIs, results and training records: an admin's
    decision, never her own. She changes her own skills and capacity, and the routing profile of the
    active agents in her teams (any other account is as absent to her: 404), moving them in and
    out of her own teams only."""
    hers = set(supervisor.teams)
    in_her_teams = "agent" in account.roles and account.active and hers & set(account.teams)
    if account.username != supervisor.username and not in_her_teams:
        raise NotFound(f"account {account.username!r} does not exist")
    if "teams" not in changes:
        return
    if set(account.roles) & set(SUPERVISORS):
        raise ApiError(403, "forbidden", "only an admin changes a supervisor's or an admin's teams",
                       {"teams": ["a supervisor's teams are changed by an admin"]})
    if (set(changes["teams"]) ^ set(account.teams)) - hers:
        raise ApiError(403, "forbidden", "a supervisor moves agents in and out of her own teams only",
                       {"teams": [f"you may add or remove only your teams: {', '.join(sorted(hers))}"]})
