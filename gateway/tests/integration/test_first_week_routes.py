"""The routes issue 24 added, through the gateway with training and appraisal running (X1): a module
edited, versioned and deleted; a template naming a course training does not have, refused naming the
band (the gateway asks training); KPI definitions and templates edited, retired and deleted."""
import pytest

COURSE = {"title": "Returns", "kind": "special", "mode": "online", "duration_hours": 1, "target_role": "agent"}
COURTESY = {"key": "courtesy", "name": "Curtesy", "category": "attitude", "source": "rated", "measure": "courtesy",
            "direction": "higher_better", "target": 100, "floor": 0}


@pytest.fixture
def admin(start_platform, client):
    start_platform("training", "appraisal")
    return client.login()


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def test_a_trainer_edits_and_deletes_a_module_and_draws_are_checked_against_the_bank(admin, client):
    url = client.url
    category = ok(admin.post(url("/api/v1/training/question-categories"), json={"name": "returns"}), 201)["id"]
    ok(admin.post(url("/api/v1/training/questions"), json={"category_id": category, "kind": "true_false",
                                                           "prompt": "Within 7 days?", "correct": True}), 201)
    course = ok(admin.post(url("/api/v1/training/courses"), json=COURSE), 201)["id"]
    exam = {"parts": [{"kind": "theory", "weight": 1, "draws": [{"category_id": category, "count": 50}]}],
            "pass_mark": 50}
    refused = admin.post(url(f"/api/v1/training/courses/{course}/modules"),
                         json={"title": "Exam", "kind": "exam", "exam": exam})
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["exam"]["parts"]["0"]["draws"]["0"]["count"] == [
        f"category {category} holds 1 active questions, not 50"]
    module = ok(admin.post(url(f"/api/v1/training/courses/{course}/modules"),
                           json={"title": "Read", "kind": "content"}), 201)["id"]
    edited = ok(admin.patch(url(f"/api/v1/training/modules/{module}"), json={"title": "Read the policy"}))
    assert (edited["id"], edited["title"], edited["version"]) == (module, "Read the policy", 1)
    ok(admin.delete(url(f"/api/v1/training/modules/{module}")), 204)
    assert ok(admin.get(url(f"/api/v1/training/courses/{course}")))["modules"] == []
    assert admin.delete(url(f"/api/v1/training/modules/{module}")).status_code == 404


def test_templates_name_courses_training_has_and_definitions_and_templates_change_and_retire(admin, client):
    url = client.url
    course = ok(admin.post(url("/api/v1/training/courses"), json=COURSE), 201)["id"]
    ok(admin.post(url("/api/v1/appraisal/kpi-definitions"), json=COURTESY), 201)
    assert ok(admin.patch(url("/api/v1/appraisal/kpi-definitions/courtesy"), json={"name": "Courtesy"}))[
        "name"] == "Courtesy"
    template = {"name": "Monthly", "role": "agent", "period_type": "monthly",
                "items": [{"kpi": "courtesy", "weight": 100}], "reviewer_weights": {"supervisor": 100},
                "bands": [{"grade": "A", "min_score": 60}, {"grade": "D", "min_score": 0,
                                                            "retraining_course_id": course + 1000}]}
    refused = admin.post(url("/api/v1/appraisal/templates"), json=template)
    assert refused.status_code == 400
    assert refused.json()["error"]["details"] == {"bands": {"1": {"retraining_course_id": [
        f"course {course + 1000} does not exist in training"]}}}
    template["bands"][1]["retraining_course_id"] = course
    made = ok(admin.post(url("/api/v1/appraisal/templates"), json=template), 201)
    assert admin.delete(url("/api/v1/appraisal/kpi-definitions/courtesy")).status_code == 409  # named by it
    retired = ok(admin.patch(url(f"/api/v1/appraisal/templates/{made['id']}"), json={"retired": True}))
    assert retired["retired_at"] is not None
    assert admin.post(url("/api/v1/appraisal/cycles"), json={
        "template_id": made["id"], "period_start": "2026-03-01"}).status_code == 409
    ok(admin.post(url("/api/v1/appraisal/kpi-definitions"), json=dict(COURTESY, key="curtesy")), 201)
    ok(admin.delete(url("/api/v1/appraisal/kpi-definitions/curtesy")), 204)
    assert [d["key"] for d in ok(admin.get(url("/api/v1/appraisal/kpi-definitions")))["items"]] == ["courtesy"]
