from gateway.openapi import path_and_parameters


def test_werkzeug_rules_become_openapi_paths_with_typed_parameters():
    path, parameters = path_and_parameters("/api/v1/tickets/<int:ticket_id>/replies/<name>")
    assert path == "/api/v1/tickets/{ticket_id}/replies/{name}"
    assert parameters == [
        {"in": "path", "name": "ticket_id", "required": True, "schema": {"type": "integer"}},
        {"in": "path", "name": "name", "required": True, "schema": {"type": "string"}},
    ]
