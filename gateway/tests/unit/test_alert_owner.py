"""An opinion alert is handed only to someone who can work it (issue 24): the gateway, where accounts
live, checks the owner before monitoring is asked."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from gateway.errors import ApiError
from gateway.models import Account, Base
from gateway.routes.monitoring import check_owner


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        for username, roles, active in (("ann", ["agent"], True), ("sue", ["supervisor"], True),
                                        ("old", ["agent"], False), ("crm", ["integration"], True),
                                        ("tom", ["trainer"], True)):
            session.add(Account(username=username, password_hash="-", roles=roles, active=active,
                                created_at=datetime.now(timezone.utc)))
        session.commit()
        yield session
    engine.dispose()


@pytest.mark.parametrize("owner", ["ann", "sue", None])
def test_an_active_alert_handler_or_nobody_may_own_an_alert(session, owner):
    check_owner(session, owner)


@pytest.mark.parametrize("owner, reason", [
    ("nobody", "'nobody' is not an account"), ("old", "'old' is a deactivated account"),
    ("crm", "'crm' cannot handle alerts"), ("tom", "'tom' cannot handle alerts")])
def test_an_unknown_inactive_or_unfit_owner_is_refused_naming_the_field(session, owner, reason):
    with pytest.raises(ApiError) as refused:
        check_owner(session, owner)
    assert (refused.value.status, refused.value.code) == (400, "invalid_input")
    [said] = refused.value.details["owner"]
    assert said.startswith(reason)
