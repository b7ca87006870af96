"""The OpenAPI document says what the gateway does (schemathesis found where it did not)."""
from gateway.openapi import document
from gateway.service import GatewayService


def schema_of(name):
    return document(GatewayService)["components"]["schemas"][name]["properties"]


def responses_of(path, method):
    return document(GatewayService)["paths"][path][method]["responses"]


def test_field_bounds_are_the_ones_enforced():
    assert schema_of("CourseCreate")["duration_hours"]["exclusiveMinimum"] is True  # more than 0
    assert schema_of("TicketCreate")["custom_fields"]["maxProperties"] == 50  # an object's size, not a string's
    assert "maxLength" not in schema_of("TicketCreate")["custom_fields"]
    assert "format" not in schema_of("AccountCreate")["capacity"]  # bounded: 0 to 1000
    assert schema_of("Merge")["into"]["format"] == "int32"  # no bound of its own: an INTEGER column's


def test_media_types_and_statuses_are_the_ones_answered():
    assert list(responses_of("/api/v1/monitoring/reports/trend.png", "get")["200"]["content"]) == ["image/png"]
    assert list(responses_of("/api/v1/monitoring/reports/trend.csv", "get")["200"]["content"]) == ["text/csv"]
    assert list(responses_of("/metrics", "get")["200"]["content"]) == ["text/plain"]
    assert {"200", "201"} <= set(responses_of("/api/v1/monitoring/posts", "post"))  # updated or created
    assert set(responses_of("/health", "get")) == {"200", "503"}
    assert {"404", "409", "503"} <= set(responses_of("/api/v1/appraisal/cycles", "post"))  # the template it names
    assert "414" not in responses_of("/api/v1/tickets", "get")  # the HTTP server's own, bodyless: said once, in info
    assert set(responses_of("/api/v1/auth/token", "post")) == {"200", "400", "401", "413", "429"}
    assert set(responses_of("/api/v1/auth/sign-out", "post")["204"]) == {"description"}   # no body


def test_the_sla_calendar_is_typed_and_condition_keys_are_enumerated():
    assert set(schema_of("SlaCalendar")) == {"timezone", "windows", "country_holidays", "holidays", "working_days"}
    assert set(schema_of("SlaWeek")) == {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
    assert "24:00" in schema_of("SlaWeek")["mon"]["items"]["pattern"]
    assert set(schema_of("WorkingDay")) == {"date", "windows"}   # each extra working day has its own windows
    assert set(schema_of("CountryHolidays")) == {"country", "subdivision", "make_up_day_windows"}
    assert schema_of("SlaCalendar")["country_holidays"]["items"] == {"$ref": "#/components/schemas/CountryHolidays"}
    assert set(schema_of("SlaConditions")) == {"priority", "kind", "channel", "customer_tier"}
    assert schema_of("SlaConditions")["priority"]["items"]["enum"] == ["low", "normal", "high", "urgent"]
    assert set(schema_of("SlaTargets")) == {"first_response", "update", "resolution"}


def test_the_ticket_list_documents_its_escalated_and_unstaffed_filters():
    parameters = {parameter["name"]: parameter for parameter in
                  document(GatewayService)["paths"]["/api/v1/tickets"]["get"]["parameters"]}
    assert parameters["escalated"]["schema"]["type"] == "boolean" and parameters["escalated"]["in"] == "query"
    assert "never escalated" in parameters["escalated"]["description"]
    assert parameters["unstaffed"]["schema"]["type"] == "boolean"
    assert set(schema_of("AgentList")) == {"items", "warnings"}


def test_every_paged_list_documents_its_cursor_and_capped_total():
    paths = document(GatewayService)["paths"]
    paged = [path for path, methods in paths.items() if "get" in methods and any(
        parameter["name"] == "per_page" for parameter in methods["get"].get("parameters", ()))]
    assert "/api/v1/tickets" in paged and len(paged) >= 10
    for path in paged:
        parameters = {parameter["name"]: parameter for parameter in paths[path]["get"]["parameters"]}
        assert parameters["cursor"]["schema"]["type"] == "string", path
    page = document(GatewayService)["components"]["schemas"]["TicketPage"]
    assert set(page["required"]) == {"items", "total", "total_exact", "page", "per_page", "next_cursor"}
    assert page["properties"]["total_exact"]["type"] == "boolean"
    assert page["properties"]["next_cursor"]["nullable"] is True or "null" in str(page["properties"]["next_cursor"])
    assert "10,000" in page["properties"]["total"]["description"]


def test_the_ticket_list_documents_its_search_and_sort():
    parameters = {p["name"]: p for p in document(GatewayService)["paths"]["/api/v1/tickets"]["get"]["parameters"]}
    assert "docs/search.md" in parameters["q"]["description"] and parameters["q"]["schema"]["maxLength"] == 500
    assert {"relevance", "created_at", "-created_at", "-priority"} <= set(parameters["sort"]["schema"]["enum"])
    assert "deprecated" in parameters["text"]["description"]
