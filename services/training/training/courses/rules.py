"""Course rules that need no framework: how far an agent has come through a
course's modules (R2). What a well-formed course or module is, the schemas
say (``training.contract``)."""
DONE = 100.0


def completion_percent(module_percents: list[float]) -> float:
    """The mean of every module's percent done (a course with no modules is not done)."""
    if not module_percents:
        return 0.0
    return round(sum(module_percents) / len(module_percents), 2)


def is_complete(module_percents: list[float]) -> bool:
    return bool(module_percents) and all(percent >= DONE for percent in module_percents)
