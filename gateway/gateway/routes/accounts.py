"""Routes of identity (the gateway's own): signing in, accounts, the caller's own account and duty."""
import eventlet.tpool

from gateway import accounts, auth, events, logins, schemas, settings
from gateway.access import ACCOUNT_HOLDERS, ADMIN, STAFF, SUPERVISORS, check_account_changes
from gateway.api import ApiCall, Router
from gateway.errors import ApiError
from plumbing.schemas import shared

UNKNOWN_USER_HASH = auth.hash_password("no such user")

router = Router()


@router.api("POST", "/api/v1/auth/token", body=schemas.TokenRequestSchema, response=schemas.TokenSchema,
            errors=(401, 429),
            summary="Exchange a username and password for a bearer token (failed attempts are rate-limited)")
def issue_token(service, call: ApiCall):
    username, address = call.body["username"], call.client_address
    limits, now = settings.login_limits(service.config), accounts.now()
    with service.db.begin():
        wait = logins.retry_after(service.db, limits, username, address, now)
        account = accounts.find(service.db, username)
    if wait:  # refused unchecked: a guess answered 401 or 200 would still tell
        logins.LOGINS_REFUSED.labels("rate_limited").inc()
        raise ApiError(429, "too_many_attempts", f"too many failed sign-ins: try again in {wait} s",
                       {"retry_after": wait}, headers={"Retry-After": str(wait)})
    # the same argon2 work for unknown users, so timing does not tell who exists
    password_hash = account.password_hash if account else UNKNOWN_USER_HASH
    verified = eventlet.tpool.execute(auth.verify_password, password_hash, call.body["password"])
    signed_in = verified and account and account.active
    with service.db.begin():
        if signed_in:
            logins.forget_failures(service.db, username)
        else:
            logins.record_failure(service.db, limits, username, address, now)
    if not signed_in:
        logins.LOGINS_REFUSED.labels("wrong_credentials").inc()
        raise ApiError(401, "unauthorized", "wrong username or password")
    ttl = settings.token_ttl_seconds(service.config)
    token = auth.issue_token(settings.secrets(service.config).jwt_secret, account.username, account.roles, ttl)
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
                "Change an account: teams, skills, capacity (supervisors); roles, activation (admins). "
                "Deactivating revokes its tokens"))
def update_account(service, call: ApiCall, username):
    check_account_changes(call.principal, call.body)
    return change_account(service, username, call.body)


@router.api("GET", "/api/v1/me", roles=ACCOUNT_HOLDERS, response=schemas.AccountSchema,
            summary="The account the token belongs to")
def me(service, call: ApiCall):
    return shared(schemas.AccountSchema).dump(accounts.get(service.db, call.principal.username))


@router.api("PUT", "/api/v1/me/duty", roles=STAFF, body=schemas.DutySchema, response=schemas.AccountSchema,
            summary="Go on or off duty: routing only gives tickets to agents on duty")
def set_duty(service, call: ApiCall):
    return change_account(service, call.principal.username, call.body)


def change_account(service, username, changes):
    """Apply changes, publish the new snapshot if anything changed, and
    forget the cached token check (deactivation must bite at once)."""
    with service.db.begin():
        account = accounts.get(service.db, username)
        if accounts.update(account, changes):
            service.events.record(service.db, events.STAFF_ACCOUNT_UPDATED, events.AGGREGATE, username, account)
    service.account_store.forget(username)
    return shared(schemas.AccountSchema).dump(account)
