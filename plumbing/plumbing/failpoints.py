"""Named crash points for fault tests.

``CSOPS_FAILPOINTS=outbox.before_publish`` makes the process die at that
point as if killed with SIGKILL: no cleanup, no flush. Unset in production.
"""
import os


def hit(name: str) -> None:
    armed = os.environ.get("CSOPS_FAILPOINTS", "")
    if name in armed.split(","):
        os._exit(137)
