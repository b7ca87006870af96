"""The machine a benchmark runs on: CPU per process from /proc, how busy it is, what it is."""
import os
import platform
import re
import resource
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path

from kit import ROOT

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
RABBIT_COMMS = {"beam.smp", "erl_child_setup", "inet_gethost", "epmd", "1_scheduler", "2_scheduler"}


def process_cpu():
    """{pid: (comm, cpu seconds)} of every process."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        close = stat.rfind(")")
        fields = stat[close + 2:].split()
        found[int(entry)] = (stat[stat.find("(") + 1:close], (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return found


def machine_cpu():
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values[:8]) / CLOCK_TICKS, (sum(values[:8]) - idle) / CLOCK_TICKS


class CpuMeter:
    """CPU seconds per component between ``start()`` and ``stop()``."""

    def __init__(self, service_pids):
        self.service_pids = service_pids  # {pid: name}

    def group(self, pid, comm):
        if pid in self.service_pids:
            return self.service_pids[pid]
        if comm == "postgres":
            return "postgres"
        if comm in RABBIT_COMMS or comm.startswith("erts_") or comm.startswith("beam"):
            return "rabbitmq"
        if pid == os.getpid():
            return "bench (this script)"
        return "other"

    def start(self):
        self.before = process_cpu()
        self.children_before = self.children()
        self.machine_before = machine_cpu()

    @staticmethod
    def children():
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def stop(self):
        after = process_cpu()
        total, busy = machine_cpu()
        groups, others = defaultdict(float), Counter()
        for pid, (comm, seconds) in after.items():
            previous = self.before.get(pid)
            used = seconds - previous[1] if previous and previous[0] == comm else seconds
            if used > 0:
                group = self.group(pid, comm)
                if group == "other":
                    line = command_line(pid, comm)
                    if line.startswith("["):  # no command line: a kernel thread (writeback of WAL, ext4, ...)
                        group = "kernel threads"
                    elif comm == "py-spy":
                        group = "profiler"
                    elif used >= 0.05:
                        others[f"{pid} {line}"] += used
                groups[group] += used
        groups["load generator"] += self.children() - self.children_before
        total_before, busy_before = self.machine_before
        # CPU of processes that ended inside the window shows only in the machine's total
        unattributed = (busy - busy_before) - sum(groups.values())
        if unattributed > 0.02 * (busy - busy_before):
            groups["other"] += unattributed
            others["exited (processes that ended during the window)"] += unattributed
        return {
            "machine_busy_share": round((busy - busy_before) / max(1e-9, total - total_before), 3),
            "cpu_seconds": {name: round(value, 3) for name, value in sorted(groups.items(), key=lambda i: -i[1])},
            "other_processes": [(name, round(value, 2)) for name, value in others.most_common(4)],
        }


ABSOLUTE_DIRECTORIES = re.compile(r"(?<![\w.~-])/(?:[^\s/]+/)+")


def command_line(pid, comm):
    """The process's command line without the directories of absolute paths (reports name no machine path)."""
    try:
        line = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        line = ""
    return ABSOLUTE_DIRECTORIES.sub("", line)[:120] or f"[{comm}]"


def machine_busy(seconds=2.0):
    """Share of all CPUs busy over ``seconds`` (before the run: is the machine quiet?)."""
    total0, busy0 = machine_cpu()
    meter = CpuMeter({})
    meter.start()
    time.sleep(seconds)
    total1, busy1 = machine_cpu()
    cpu = meter.stop()
    other = cpu["cpu_seconds"].get("other", 0.0) / (seconds * (os.cpu_count() or 1))
    return round((busy1 - busy0) / max(1e-9, total1 - total0), 3), round(other, 3), cpu["other_processes"]


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def memory_gb():
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        return round(kb / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        return None


def git(args):
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout
    except OSError:
        return ""


def commit():
    """The checked-out commit, short."""
    return git(["rev-parse", "--short", "HEAD"]).strip()


def modified_files():
    """Tracked files changed since that commit: the figures measured code it does not hold."""
    return [line[3:] for line in git(["status", "--porcelain", "--untracked-files=no"]).splitlines()]
