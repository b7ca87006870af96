"""Errors the gateway answers with an HTTP status of their own."""


class ApiError(Exception):
    def __init__(self, status, code, message, details=None, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}
        self.headers = headers or {}


class ServiceUnavailable(ApiError):
    def __init__(self, service, reason):
        super().__init__(503, "service_unavailable", f"{service} service is unavailable: {reason}",
                         {"service": service})
