"""Progress lines, and signals that let a script remove what it created."""
import signal
import time

STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def interrupt(*_):
    raise KeyboardInterrupt


def stop_on_signals():
    """Ctrl-C and SIGTERM raise KeyboardInterrupt, so that a script's clean-up runs. Catching SIGINT matters
    for the children too: a process started in the background has SIGINT ignored, exec keeps an ignored
    signal ignored (only caught ones are reset), and the platform's processes would never stop on SIGINT."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)
