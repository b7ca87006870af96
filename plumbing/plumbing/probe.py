"""A container's healthcheck: exit 0 when ``URL`` answers 2xx within the timeout, 1 otherwise.

    python -m plumbing.probe http://127.0.0.1:9100/metrics

docker-compose.yml runs it as ``["CMD", "python", "-m", "plumbing.probe", URL]``: arguments without
spaces, because Podman's Docker API (4.3) splits a healthcheck's command on spaces, which broke the
``python -c "import urllib.request; ..."`` one-liner it replaces. Standard library only, so it starts
fast in a busy container.
"""
import sys
import urllib.request

TIMEOUT_SECONDS = 3


def healthy(url: str, timeout: float = TIMEOUT_SECONDS) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (OSError, ValueError):
        return False


def main(argv) -> int:
    if len(argv) != 2:
        print("usage: python -m plumbing.probe URL", file=sys.stderr)
        return 64
    if healthy(argv[1]):
        return 0
    print(f"probe: {argv[1]} did not answer 2xx", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
