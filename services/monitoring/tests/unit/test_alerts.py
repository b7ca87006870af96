import pytest

from monitoring.alerts import rules as alerts


def test_lifecycle_goes_forward_only():
    alerts.check_transition("open", "acknowledged")
    alerts.check_transition("acknowledged", "responding")
    alerts.check_transition("responding", "resolved")
    alerts.check_transition("open", "resolved")  # a false alarm is resolved at once
    for before, after in (("acknowledged", "open"), ("resolved", "responding"), ("responding", "acknowledged")):
        with pytest.raises(alerts.InvalidTransition) as raised:
            alerts.check_transition(before, after)
        assert raised.value.allowed == alerts.NEXT_STATES[before]


def test_an_action_means_responding_unless_resolved():
    assert alerts.state_after_action("open") == "responding"
    assert alerts.state_after_action("responding") == "responding"
    with pytest.raises(alerts.InvalidTransition):
        alerts.state_after_action("resolved")


@pytest.mark.parametrize("level, crisis, alert, ticket", [
    (None, False, False, False), ("IV", False, False, False), ("III", False, True, False),
    ("II", False, True, True), ("I", False, True, True), (None, True, True, True), ("IV", True, True, True),
])
def test_what_raises_an_alert_and_what_opens_a_ticket(level, crisis, alert, ticket):
    assert alerts.deserves_alert(level, crisis) is alert
    assert alerts.opens_ticket(level, crisis) is ticket


def test_keys_name_what_an_alert_is_about():
    assert alerts.cluster_key(12) == "cluster/12"
    assert alerts.spike_key(3, "2026-05-04T09:10:00+00:00") == "spike/3/2026-05-04T09:10:00+00:00"
