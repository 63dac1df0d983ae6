"""Start one measured process from a small interpreter and report its wall time and peak RSS.

Run by path (``python benchmarks/launch.py RESULT TIMEOUT CMD…``), stdlib only, on purpose:
on Linux a process's ``ru_maxrss`` includes the memory image it was forked from, so a
process forked straight from the runner (which holds pandas and the checks' data) would
report the runner's size. Forked from this launcher it starts from a ~10 MB image. The
result (exit code, seconds, peak RSS in MB, timed out) is written to RESULT as JSON.
"""

import json
import os
import subprocess
import sys
import threading
import time


def main() -> int:
    result, timeout, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    timed_out = threading.Event()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)

    def kill() -> None:
        timed_out.set()
        proc.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    seconds = time.perf_counter() - t0
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    with open(result, "w", encoding="utf-8") as f:
        json.dump({"exit_code": code, "seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024,
                   "timed_out": timed_out.is_set()}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
