"""A platform service run as the Procfile runs it (``python -m plumbing.serve``), in one or more
processes competing for the same queues, as a scaled deployment runs them."""
import os
import signal
import subprocess
from pathlib import Path

from run import PYTHON, ROOT


class ServiceReplicas:
    def __init__(self, name, service_class, env, workdir, replicas=1):
        """``name`` labels the logs and the CPU figures; ``env`` is added to this process's environment
        without the other services' database URLs."""
        environment = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
        environment.update(env, PYTHONUNBUFFERED="1")
        self.name = name
        self.logs = [Path(workdir) / f"{name}-{replica}.log" for replica in range(replicas)]
        self.processes = []
        for log in self.logs:
            with open(log, "wb") as out:
                self.processes.append(subprocess.Popen(
                    [PYTHON, "-m", "plumbing.serve", service_class], cwd=ROOT, env=environment,
                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True))

    @property
    def pids(self):
        return {process.pid: self.name for process in self.processes}

    def alive(self):
        return all(process.poll() is None for process in self.processes)

    def tail(self, lines=30):
        return "\n".join(f"{self.name}-{replica} (exit {process.poll()}):\n" +
                         "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
                         for replica, (process, log) in enumerate(zip(self.processes, self.logs)))

    def stop(self):
        """SIGINT (as Ctrl-C) to every process, SIGKILL to any still running 30 s later."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
