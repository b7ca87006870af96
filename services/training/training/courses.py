"""Course rules that need no framework: kinds, modes, schedule, modules and
how far an agent has come through them (R1, R2)."""
KINDS = ("onboarding", "periodic", "special")
MODES = ("in_person", "online", "external")
CONTENT, SESSION, EXAM = "content", "session", "exam"
MODULE_KINDS = (CONTENT, SESSION, EXAM)
DONE = 100.0


def schedule_errors(kind, sessions_per_month) -> dict[str, list[str]]:
    """Only a periodic course runs N times a month, and it must say N (R1)."""
    if kind == "periodic" and sessions_per_month is None:
        return {"sessions_per_month": ["Required for a periodic course."]}
    if kind != "periodic" and sessions_per_month is not None:
        return {"sessions_per_month": ["Only a periodic course has sessions per month."]}
    return {}


def module_errors(kind, exam, scheduled_at) -> dict[str, list[str]]:
    """An exam module carries its exam; only a session has a date."""
    errors = {}
    if (kind == EXAM) != (exam is not None):
        errors["exam"] = ["Required for an exam module." if kind == EXAM else "Only an exam module has an exam."]
    if kind != SESSION and scheduled_at is not None:
        errors["scheduled_at"] = ["Only a session is scheduled."]
    return errors


def completion_percent(module_percents: list[float]) -> float:
    """The mean of every module's percent done (a course with no modules is not done)."""
    if not module_percents:
        return 0.0
    return round(sum(module_percents) / len(module_percents), 2)


def is_complete(module_percents: list[float]) -> bool:
    return bool(module_percents) and all(percent >= DONE for percent in module_percents)
