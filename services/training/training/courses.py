"""Course rules that need no framework: kinds, modes, schedule."""
KINDS = ("onboarding", "periodic", "special")
MODES = ("in_person", "online", "external")


def schedule_errors(kind, sessions_per_month) -> dict[str, list[str]]:
    """Only a periodic course runs N times a month, and it must say N (R1)."""
    if kind == "periodic" and sessions_per_month is None:
        return {"sessions_per_month": ["Required for a periodic course."]}
    if kind != "periodic" and sessions_per_month is not None:
        return {"sessions_per_month": ["Only a periodic course has sessions per month."]}
    return {}
