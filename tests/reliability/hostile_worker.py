"""Child process of the cap tests: read one hostile file and report its peak memory and time.

    python hostile_worker.py template|package FILE

Prints one JSON line: outcome ("refused" / "taken" / "MemoryError" / "crash"), the refusal lines,
seconds, ``base_mb`` (peak RSS after importing the app, before the read) and ``peak_mb`` (peak RSS
of the whole process: VmHWM from /proc, else getrusage). The address space is limited to 2 GiB so that a regression
fails here instead of pushing the shared test machine into swap.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import traceback

LIMIT = 2 * 1024 ** 3


def peak_mb() -> float:
    """Peak RSS of this process image: VmHWM (getrusage's ru_maxrss would include the RSS of the
    parent at fork time, carried across exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    op, path = sys.argv[1], sys.argv[2]
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))
    from clusterdesk.packages import PackageError, read_package
    from clusterdesk.templates import TemplateError, read_filled

    base = peak_mb()
    out: dict = {"problems": []}
    t0 = time.perf_counter()
    try:
        if op == "template":
            read_filled(path)
        else:
            read_package(path)
        out["outcome"] = "taken"
    except (TemplateError, PackageError) as e:
        out["outcome"] = "refused"
        out["problems"] = e.problems
    except MemoryError:
        out["outcome"] = "MemoryError"
    except Exception:  # noqa: BLE001 - reported to the test, which fails
        out["outcome"] = "crash"
        out["problems"] = traceback.format_exc().splitlines()[-3:]
    out["seconds"] = round(time.perf_counter() - t0, 2)
    out["base_mb"] = round(base, 1)
    out["peak_mb"] = round(peak_mb(), 1)
    sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
