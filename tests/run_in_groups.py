"""`make test`: the suite in several pytest processes at once, then the tests that must run alone.

Most of a test's time is spent waiting on RabbitMQ, PostgreSQL and service processes, not computing,
so two groups on two cores finish well before one would. Every test makes its own vhost and
databases and picks free ports, so groups do not meet. pytest-split divides the tests by the
durations recorded in tests/durations.json (a test it does not know counts as the average), dealt
out slowest first to the group with the least so far;
``--update-durations`` records them again from this run. The tests that restart the broker
(``broker_restart``) would break every other group's connections, so they run after, alone.

    python -m tests.run_in_groups [--groups N] [--update-durations] [pytest args...]

Each group writes its whole output to var/test-groups/<n>.log; a line of progress per group
every minute; at the end a passing group's summary and a failing group's whole log.
"""
import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DURATIONS = ROOT / "tests" / "durations.json"
LOGS = ROOT / "var" / "test-groups"
PROGRESS = re.compile(rb"\[\s*(\d+)%\]")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=2)
    parser.add_argument("--update-durations", action="store_true")
    parser.add_argument("--minutes", type=float, default=20,
                        help="a group still running after this is stopped and fails (a hung test must not hold CI)")
    options, pytest_args = parser.parse_known_args(argv)
    LOGS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    groups = [start_group(number, options.groups, options.update_durations, pytest_args)
              for number in range(1, options.groups + 1)]
    while any(process.poll() is None for process, _ in groups):
        wait_a_minute_or_until_done(groups)
        print(f"[{minutes(started)}] " + "  ".join(
            f"group {number}: {progress(log)}" for number, (_, log) in enumerate(groups, 1)), flush=True)
        if time.monotonic() - started > options.minutes * 60:
            stop_the_rest(groups, options.minutes)
    for number, (process, log) in enumerate(groups, 1):
        report(number, process, log)
    if options.update_durations:
        merge_durations(groups)
    print("\n== the tests that restart the broker, alone", flush=True)
    alone = subprocess.call([sys.executable, "-m", "pytest", "-m", "broker_restart", *pytest_args], cwd=ROOT)
    exits = [process.returncode for process, _ in groups] + [alone]
    print(f"\n== {options.groups} groups and the broker tests in {minutes(started)}: exits {exits}")
    return 0 if passed(exits, part_of_the_suite=bool(pytest_args)) else 1


def passed(exits, part_of_the_suite):
    """The whole suite passes when every phase passed; a part of it (paths or -k given) may leave a
    phase with nothing to run (pytest's exit 5), but not all of them."""
    if not part_of_the_suite:
        return all(code == 0 for code in exits)
    return all(code in (0, 5) for code in exits) and 0 in exits


def start_group(number, count, update_durations, pytest_args):
    log = LOGS / f"{number}.log"
    durations = DURATIONS
    if update_durations:  # each group splits by a copy and writes its own tests' times back into it
        durations = LOGS / f"{number}.durations.json"
        durations.write_text(DURATIONS.read_text() if DURATIONS.exists() else "{}")
    command = [sys.executable, "-m", "pytest", "-m", "not faults and not compose and not broker_restart",
               "--splits", str(count), "--group", str(number), "--durations-path", str(durations),
               "--splitting-algorithm", "least_duration"]  # dealt like cards: each group gets slow and fast files
    if update_durations:
        command += ["--store-durations", "--clean-durations"]
    with open(log, "wb") as output:
        process = subprocess.Popen(command + pytest_args, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    return process, log


def wait_a_minute_or_until_done(groups):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(process.poll() is None for process, _ in groups):
        time.sleep(1)


def stop_the_rest(groups, limit):
    for number, (process, log) in enumerate(groups, 1):
        if process.poll() is None:
            print(f"== group {number} still running after {limit:g} minutes: stopped; its last test hung", flush=True)
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def progress(log):
    if not log.exists():
        return "starting"
    found = PROGRESS.findall(log.read_bytes())
    return f"{int(found[-1])}%" if found else "collecting"


def report(number, process, log):
    """A passing group's summary; a failing group's whole output."""
    text = log.read_text(errors="replace")
    print(f"\n== group {number}: exit {process.returncode}, whole output in {log.relative_to(ROOT)}")
    if process.returncode not in (0, 5):
        print(text)
    else:
        lines = text.splitlines()
        summary = next((i for i, line in enumerate(lines) if "short test summary info" in line
                        or "slowest" in line), max(len(lines) - 3, 0))
        print("\n".join(lines[summary:]))


def merge_durations(groups):
    """The groups' fresh durations into tests/durations.json (each test ran in one group); a group
    that was stopped stored none, so the durations recorded before stay for its tests."""
    finished = [number for number, (process, _) in enumerate(groups, 1) if process.returncode in (0, 1)]
    merged = {} if len(finished) == len(groups) else json.loads(DURATIONS.read_text())
    for number in finished:
        merged.update(json.loads((LOGS / f"{number}.durations.json").read_text()))
    DURATIONS.write_text(json.dumps(dict(sorted(merged.items())), indent=1) + "\n")
    print(f"\n== durations of {len(merged)} tests recorded in {DURATIONS.relative_to(ROOT)}")


def minutes(since):
    elapsed = int(time.monotonic() - since)
    return f"{elapsed // 60} min {elapsed % 60:02d} s"


if __name__ == "__main__":
    sys.exit(main())
