"""The verdict of `make test`'s runner over its phases' pytest exit codes (5: nothing collected)."""
from tests.run_in_groups import passed


def test_the_whole_suite_passes_only_when_every_phase_passed():
    assert passed([0, 0, 0], part_of_the_suite=False)
    assert not passed([0, 1, 0], part_of_the_suite=False)
    assert not passed([0, 0, 5], part_of_the_suite=False)  # an empty phase of the whole suite is a defect


def test_a_part_of_the_suite_may_leave_phases_empty_but_not_all():
    assert passed([0, 5, 5], part_of_the_suite=True)
    assert not passed([5, 5, 5], part_of_the_suite=True)
    assert not passed([0, 2, 5], part_of_the_suite=True)
