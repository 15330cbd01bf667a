"""Real-time scheduling for the threads of a live session, where the system allows it.

A worker that computes a hop must not wait behind other programs' time slices: on a busy
machine an ordinary thread can be kept off the CPU for several milliseconds, longer than a
hop. Nor may any thread the worker waits for: the threads of one Python process share the
GIL, and an ordinary thread preempted while it holds the GIL stalls a real-time worker for as
long as the scheduler keeps it off the CPU (tens of milliseconds on a loaded machine). So the
session raises all three: the audio callback's thread (unless the audio system made it
real-time already, as JACK does), the worker, and the main thread that polls and prints.
Linux offers two ways up, tried in order:

1. ``SCHED_FIFO`` through ``sched_setscheduler`` on the calling thread (root, ``CAP_SYS_NICE``,
   or an ``rtprio`` limit in ``/etc/security/limits.conf``, as audio groups are set up);
2. RealtimeKit, the D-Bus service desktops use to lend real-time priority to unprivileged audio
   threads (``MakeThreadRealtimeWithPID``, called with ``busctl``). RealtimeKit insists that
   the process caps its real-time CPU time (``RLIMIT_RTTIME``), which is set first.

Where neither works the thread keeps the normal policy and the session says so. Priorities
stay below a JACK server's (10 by default) and its clients' process threads, and the audio
callback's thread always preempts the worker. The kernel's real-time throttling (by default 5 % of
each second left to other threads) bounds what a runaway real-time thread could take.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading

# Priorities (SCHED_FIFO 1-99): the audio callback above the worker, the worker above the main
# thread, all below a JACK server (10 by default) and its clients' process threads (5 under a
# jackd -P 10: the session lowers its own below whatever the callback's thread has).
CALLBACK_PRIORITY = 4
WORKER_PRIORITY = 3
MAIN_PRIORITY = 1
RTKIT = ("org.freedesktop.RealtimeKit1", "/org/freedesktop/RealtimeKit1",
         "org.freedesktop.RealtimeKit1")
RTTIME_US = 200_000  # real-time CPU a thread may use without sleeping before the kernel objects


def request_realtime(priority: int = WORKER_PRIORITY, tid: int | None = None) -> str:
    """Ask for real-time scheduling for thread ``tid`` (default: the calling thread).

    Returns what it got, in words: ``"SCHED_FIFO 5"``, ``"rtkit 5"``, or ``"normal (why)"``.
    Never raises.
    """
    if os.environ.get("RTSEP_NO_REALTIME"):
        return "normal (RTSEP_NO_REALTIME is set)"
    if not hasattr(os, "sched_setscheduler"):
        return "normal (no real-time scheduling on this system)"
    try:  # Linux: a thread id names one thread; 0 is the calling one
        os.sched_setscheduler(tid or 0, os.SCHED_FIFO, os.sched_param(priority))
        return f"SCHED_FIFO {priority}"
    except OSError as exc:
        fifo_error = exc.strerror or str(exc)
    granted, rtkit = _rtkit(priority, tid or threading.get_native_id())
    if granted:
        return rtkit
    return f"normal (SCHED_FIFO: {fifo_error}; rtkit: {rtkit})"


def restore_normal(tid: int | None = None) -> None:
    """Put a thread back to the normal policy (always allowed); never raises."""
    try:
        os.sched_setscheduler(tid or 0, os.SCHED_OTHER, os.sched_param(0))
    except (OSError, AttributeError):
        pass


def fifo_priority(tid: int | None = None) -> int:
    """A thread's real-time priority, 0 when it is not real-time (or unknown)."""
    return os.sched_getparam(tid or 0).sched_priority if is_realtime(tid) else 0


def thread_policy(tid: int | None = None) -> str:
    """A thread's policy and priority, e.g. ``"SCHED_FIFO 9"`` (default: the calling thread)."""
    if not hasattr(os, "sched_getscheduler"):
        return "unknown"
    try:
        policy = os.sched_getscheduler(tid or 0)
        priority = os.sched_getparam(tid or 0).sched_priority
    except OSError:
        return "unknown"
    names = {os.SCHED_OTHER: "SCHED_OTHER", os.SCHED_FIFO: "SCHED_FIFO", os.SCHED_RR: "SCHED_RR"}
    return f"{names.get(policy, str(policy))} {priority}"


def is_realtime(tid: int | None = None) -> bool:
    try:
        return os.sched_getscheduler(tid or 0) in (os.SCHED_FIFO, os.SCHED_RR)
    except (OSError, AttributeError):
        return False


def _rtkit(priority: int, tid: int) -> tuple[bool, str]:
    """Ask RealtimeKit for thread ``tid`` of this process: ``(True, "rtkit N")`` or
    ``(False, why not)``."""
    busctl = shutil.which("busctl")
    if busctl is None:
        return False, "busctl not found"
    if not os.path.exists("/run/dbus/system_bus_socket") and not os.environ.get(
            "DBUS_SYSTEM_BUS_ADDRESS"):
        return False, "no system D-Bus"
    try:
        max_priority = int(_busctl(busctl, "get-property", "MaxRealtimePriority").split()[-1])
        max_rttime = int(_busctl(busctl, "get-property", "RTTimeUSecMax").split()[-1])
        priority = min(priority, max_priority)
        _cap_rttime(min(RTTIME_US, max_rttime))
        _busctl(busctl, "call", "MakeThreadRealtimeWithPID", "ttu", str(os.getpid()),
                str(tid), str(priority))
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        return False, " ".join(str(exc).split())[:120]
    return True, f"rtkit {priority}"


def _busctl(busctl: str, verb: str, member: str, *args: str) -> str:
    service, path, interface = RTKIT
    done = subprocess.run([busctl, "--system", verb, service, path, interface, member, *args],
                          capture_output=True, text=True, timeout=5)
    if done.returncode != 0:
        raise OSError((done.stderr.strip().splitlines() or ["failed"])[-1])
    return done.stdout.strip()


def _cap_rttime(limit_us: int) -> None:
    import resource

    if not hasattr(resource, "RLIMIT_RTTIME"):
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_RTTIME)
    hard = limit_us if hard == resource.RLIM_INFINITY else min(hard, limit_us)
    resource.setrlimit(resource.RLIMIT_RTTIME, (min(limit_us, hard), hard))
