"""Stop a server started with ``start_new_session=True`` (tests and benchmarks share this)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess


def stop_group(
    process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 15.0
) -> int | None:
    """Send ``sig`` to the process group, SIGKILL it after ``timeout`` seconds; return the exit code.

    Once the leader is gone, any worker of its group still alive is killed too.
    """
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.returncode
