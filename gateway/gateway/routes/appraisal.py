"""Routes of appraisal: ticket counts and KPIs, KPI definitions, templates,
cycles and their results, review ratings, appeals, the audit trail. An agent
sees their own KPIs and results, a supervisor their teams' (``gateway.scope``)."""
from appraisal import contract
from gateway.access import ADMIN, APPRAISAL_READERS, COMMITTEE, RATERS, RESULT_READERS, check_reviewer_role
from gateway.api import ApiCall, Router
from gateway.scope import appeals_in_view, check_kpis, check_ratee, people_in_view, results_in_view

router = Router()


@router.api("GET", "/api/v1/appraisal/ticket-counts", roles=APPRAISAL_READERS, query=contract.TicketCountQuerySchema,
            response=contract.TicketCountListSchema,
            summary="Tickets by UTC day (or month) of creation and the agent who received them (agents: their "
                    "own; supervisors: their teams')")
def ticket_counts(service, call: ApiCall):
    if "agent" in call.query:
        check_kpis(service.db, call.principal, call.query)
    return service.appraisal.ticket_counts(call.query, people_in_view(service.db, call.principal))


@router.api("GET", "/api/v1/appraisal/kpis", roles=APPRAISAL_READERS, query=contract.KpiQuerySchema,
            response=contract.KpiValuesSchema, summary=(
                "KPIs of an agent, a team (its members' facts at the time) or a team's queue (its tickets' facts) "
                "over the days the facts belong to (agents: their own; supervisors: their teams')"))
def kpis(service, call: ApiCall):
    check_kpis(service.db, call.principal, call.query)
    return service.appraisal.kpis(call.query)


@router.api("POST", "/api/v1/appraisal/kpi-definitions", roles=COMMITTEE, body=contract.KpiDefinitionCreateSchema,
            response=contract.KpiDefinitionSchema, status=201,
            summary="Define a KPI: measured or rated, target, floor, direction")
def create_kpi_definition(service, call: ApiCall):
    return service.appraisal.create_kpi_definition(call.body)


@router.api("GET", "/api/v1/appraisal/kpi-definitions", roles=APPRAISAL_READERS,
            response=contract.KpiDefinitionListSchema, summary="KPI definitions")
def list_kpi_definitions(service, call: ApiCall):
    return service.appraisal.list_kpi_definitions()


@router.api("PATCH", "/api/v1/appraisal/kpi-definitions/<key>", roles=COMMITTEE,
            body=contract.KpiDefinitionUpdateSchema, response=contract.KpiDefinitionSchema, summary=(
                "Change a KPI definition (any field but its key), or retire it (retired: true) from new templates; "
                "cycles already planned keep it as it was"))
def update_kpi_definition(service, call: ApiCall, key):
    return service.appraisal.update_kpi_definition(key, call.body)


@router.api("DELETE", "/api/v1/appraisal/kpi-definitions/<key>", roles=COMMITTEE, status=204, summary=(
                "Delete a KPI definition no template names, freeing its key (409 naming the templates that do: "
                "retire it instead)"))
def delete_kpi_definition(service, call: ApiCall, key):
    service.appraisal.delete_kpi_definition(key)


@router.api("PATCH", "/api/v1/appraisal/templates/<int:template_id>", roles=COMMITTEE,
            body=contract.TemplateUpdateSchema, response=contract.TemplateSchema, summary=(
                "Change a template (checked as a new one is; its name too), or retire it (retired: true) from new "
                "cycles; cycles already planned keep it as it was"))
def update_template(service, call: ApiCall, template_id):
    return service.appraisal.update_template(template_id, call.body, missing_retraining_courses(service, call.body))


@router.api("POST", "/api/v1/appraisal/templates", roles=COMMITTEE, body=contract.TemplateCreateSchema,
            response=contract.TemplateSchema, status=201,
            summary=("A weighted template (weights sum to 100), reviewer weights and grade bands (a band's "
                     "retraining course must be one training has: 400 naming the band)"))
def create_template(service, call: ApiCall):
    return service.appraisal.create_template(call.body, missing_retraining_courses(service, call.body))


@router.api("GET", "/api/v1/appraisal/templates", roles=APPRAISAL_READERS, response=contract.TemplateListSchema,
            summary="Templates")
def list_templates(service, call: ApiCall):
    return service.appraisal.list_templates()


@router.api("POST", "/api/v1/appraisal/cycles", roles=COMMITTEE, body=contract.CycleCreateSchema,
            response=contract.CycleSchema, status=201,
            summary="Plan a monthly, quarterly or annual cycle of a template")
def create_cycle(service, call: ApiCall):
    return service.appraisal.create_cycle(call.body)


@router.api("GET", "/api/v1/appraisal/cycles", roles=APPRAISAL_READERS, response=contract.CycleListSchema,
            summary="Cycles, latest period first")
def list_cycles(service, call: ApiCall):
    return service.appraisal.list_cycles()


@router.api("GET", "/api/v1/appraisal/cycles/<int:cycle_id>", roles=APPRAISAL_READERS, response=contract.CycleSchema,
            summary="One cycle")
def get_cycle(service, call: ApiCall, cycle_id):
    return service.appraisal.get_cycle(cycle_id)


@router.api("POST", "/api/v1/appraisal/cycles/<int:cycle_id>/transitions", roles=COMMITTEE,
            body=contract.CycleTransitionSchema, response=contract.CycleSchema,
            summary="start, compute, review, publish (opens the appeal window) or close (applies outcomes)")
def advance_cycle(service, call: ApiCall, cycle_id):
    return service.appraisal.advance_cycle(cycle_id, call.body)


@router.api("POST", "/api/v1/appraisal/ratings", roles=RATERS, body=contract.ReviewRatingCreateSchema,
            response=contract.ReviewRatingSchema, status=201,
            alternatives={200: "Replaced your earlier rating of the agent in this cycle and role (a customer's: "
                               "of this ticket)"}, summary=(
                "Rate an agent as customer (integration, naming the agent's ticket), peer (agent, of their "
                "teams), supervisor or quality inspection (supervisor, of their teams; committee); one rating "
                "per reviewer, agent, cycle and role; nobody rates themselves (403)"))
def rate(service, call: ApiCall):
    whom = check_reviewer_role(call.principal, call.body["reviewer_role"])
    check_ratee(service.db, call.principal, call.body["agent"], whom)
    rated = service.appraisal.rate(call.body)
    return (201 if rated["created"] else 200), rated["rating"]


@router.api("GET", "/api/v1/appraisal/cycles/<int:cycle_id>/results", roles=RESULT_READERS,
            response=contract.ResultListSchema, summary="Results of a cycle (a supervisor sees their teams')")
def list_results(service, call: ApiCall, cycle_id):
    return results_in_view(service.db, call.principal, service.appraisal.list_results(cycle_id))


@router.api("GET", "/api/v1/appraisal/cycles/<int:cycle_id>/results/mine", roles=APPRAISAL_READERS,
            response=contract.ResultSchema, summary="Your own result, once published")
def my_result(service, call: ApiCall, cycle_id):
    return service.appraisal.my_result(cycle_id)


@router.api("POST", "/api/v1/appraisal/cycles/<int:cycle_id>/appeals", roles=APPRAISAL_READERS,
            body=contract.AppealCreateSchema, response=contract.AppealSchema, status=201,
            summary="Appeal your own published result within the window, naming items and reasons")
def file_appeal(service, call: ApiCall, cycle_id):
    return service.appraisal.file_appeal(cycle_id, call.body)


@router.api("GET", "/api/v1/appraisal/appeals", roles=APPRAISAL_READERS, query=contract.AppealQuerySchema,
            response=contract.AppealListSchema, summary="Appeals (the committee sees all; anyone else their own)")
def list_appeals(service, call: ApiCall):
    return service.appraisal.list_appeals(appeals_in_view(call.principal, call.query))


@router.api("POST", "/api/v1/appraisal/appeals/<int:appeal_id>/investigation", roles=COMMITTEE,
            body=contract.AppealInvestigationSchema, response=contract.AppealSchema,
            summary="The committee takes up an appeal")
def investigate_appeal(service, call: ApiCall, appeal_id):
    return service.appraisal.investigate_appeal(appeal_id, call.body)


@router.api("POST", "/api/v1/appraisal/appeals/<int:appeal_id>/decision", roles=COMMITTEE,
            body=contract.AppealDecisionSchema, response=contract.AppealSchema,
            summary="Decide an appeal: upheld, adjusted (new score) or rejected")
def decide_appeal(service, call: ApiCall, appeal_id):
    return service.appraisal.decide_appeal(appeal_id, call.body)


@router.api("GET", "/api/v1/appraisal/cycles/<int:cycle_id>/audit", roles=COMMITTEE, response=contract.AuditListSchema,
            summary="Every step of a cycle and its appeals: who, when, what")
def audit_trail(service, call: ApiCall, cycle_id):
    return service.appraisal.audit_trail(cycle_id)


@router.api("POST", "/api/v1/appraisal/replay", roles=ADMIN, response=contract.ReplayResultSchema,
            summary="Rebuild every ticket record, measure and team membership from the stored facts")
def replay_appraisal(service, call: ApiCall):
    return service.appraisal.replay()


def missing_retraining_courses(service, template):
    """The retraining courses a template's bands name that training does not have, asked of training:
    services do not call each other, so the gateway asks and appraisal refuses the template."""
    named = sorted({band["retraining_course_id"] for band in template.get("bands") or ()
                    if isinstance(band, dict) and isinstance(band.get("retraining_course_id"), int)})
    return service.training.missing_courses(named)["missing"] if named else []
