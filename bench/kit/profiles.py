"""Profiles summarised: py-spy's raw (collapsed) stacks of a running process, and cProfile statistics
of code run in one thread."""
import re
from collections import Counter
from pathlib import Path

from kit import RESULTS, ROOT, report
from plumbing.services import NAMES

FRAME = re.compile(r"^(.*) \((.*)\)$")
PROJECT_PACKAGES = {"plumbing", *NAMES}


def package_of(path: str) -> str:
    """py-spy names files relative to sys.path: 'sqlalchemy/orm/session.py', 'copy.py'."""
    path = short_path(path)
    if path.startswith("<"):
        return path
    top = path.split("/", 1)[0].removesuffix(".py")
    if top in PROJECT_PACKAGES:
        return f"project: {path.rsplit('/', 1)[0]}" if "/" in path else f"project: {top}"
    return top or "?"


def frame_is(function, path, name, part):
    return part in path and (not name or function == name or function.endswith("." + name))


def summarise_stacks(raw: Path, rate: int, seconds: float, watched, top=25):
    """Top self-time functions, self time per package, and the inclusive share of each ``watched``
    function, given as (label, function name or "" for any, a part of its file's path)."""
    self_time, packages, inclusive = Counter(), Counter(), Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        count = int(count)
        frames = []
        for frame in stack.split(";"):
            match = FRAME.match(frame)
            if match:
                frames.append((match.group(1), match.group(2)))
        if not frames:
            continue
        total += count
        function, path = frames[-1]
        self_time[f"{function} ({short_path(path)})"] += count
        packages[package_of(path)] += count
        for label, name, part in watched:
            if any(frame_is(f, p, name, part) for f, p in frames):
                inclusive[label] += count
    share = lambda n: round(100.0 * n / total, 1) if total else 0.0  # noqa: E731
    return {
        "samples": total,
        "busy_share_of_one_core": round(total / (rate * seconds), 2) if seconds else None,
        "top_self": [(name, share(n)) for name, n in self_time.most_common(top)],
        "self_by_package": [(name, share(n)) for name, n in packages.most_common(15)],
        "watched_inclusive": [(label, share(inclusive[label])) for label, _, _ in watched if inclusive[label]],
    }


def short_path(path):
    for marker in ("site-packages/", str(ROOT) + "/", "/lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def cumulative(stats, suffix, name):
    """(CPU seconds, calls) of the functions ``name`` in files ending with ``suffix``, callees included."""
    total = calls = 0.0
    for (path, _, function), (_, ncalls, _, ct, _) in stats.stats.items():
        if path.endswith(suffix) and function == name:
            total += ct
            calls += ncalls
    return total, calls


def top_self(stats, per, limit=25):
    """The functions with the most CPU of their own (callees not counted), builtins left out:
    [(function, self CPU ms per unit, calls per unit)]."""
    own = sorted(((tt, nc, f"{Path(path).name}:{function}") for (path, _, function), (_, nc, tt, _, _)
                  in stats.stats.items() if not path.startswith("~")), key=lambda entry: -entry[0])[:limit]
    return [(name, 1000 * tt / per, nc / per) for tt, nc, name in own]


def save_profile(name, profiler, result, lines, out=RESULTS):
    """<out>/<name>.pstats (raw, not committed), .json and .md; the report is printed too."""
    report.write(out, name, result, "\n".join(lines) + "\n")
    profiler.dump_stats(str(out / f"{name}.pstats"))
    print("\n".join(lines))
