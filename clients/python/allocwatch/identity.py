"""Who this process is (HELLO's pid, start ticks, name) and where the server's socket is."""

import os
import sys
from typing import Mapping, Optional

SOCKET_PATH_ENV = "ALLOCWATCH_SOCKET"


def parse_start_ticks(stat_line: str) -> int:
    """Field 22 of a /proc/<pid>/stat line (start time in clock ticks since boot), 0 when not one. The
    command name (field 2) may hold spaces and parentheses, so fields are counted after its last ')'."""
    close = stat_line.rfind(")")
    if close < 0:
        return 0
    fields = stat_line[close + 1:].split()
    # fields[0] is field 3 (state), so field 22 is fields[19].
    try:
        ticks = int(fields[19])
    except (IndexError, ValueError):
        return 0
    return ticks if 0 <= ticks < 1 << 53 else 0


def process_start_ticks(pid: Optional[int] = None) -> int:
    """Start ticks of `pid` (default: this process), 0 when /proc cannot say."""
    try:
        with open(f"/proc/{pid or os.getpid()}/stat", encoding="latin-1") as stat:
            return parse_start_ticks(stat.read())
    except OSError:
        return 0


def default_process_name() -> str:
    """/proc/self/comm (as the C client), else the script's name."""
    try:
        with open("/proc/self/comm", encoding="utf-8", errors="replace") as comm:
            name = comm.read().strip()
            if name:
                return name
    except OSError:
        pass
    return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"


def default_socket_path(env: Optional[Mapping[str, str]] = None, uid: Optional[int] = None) -> str:
    """$ALLOCWATCH_SOCKET, else $XDG_RUNTIME_DIR/allocwatch.sock, else /tmp/allocwatch-<uid>.sock (empty
    values count as unset), as every allocwatch client and the server pick it."""
    env = os.environ if env is None else env
    explicit = env.get(SOCKET_PATH_ENV, "")
    if explicit:
        return explicit
    runtime_dir = env.get("XDG_RUNTIME_DIR", "")
    if runtime_dir:
        return runtime_dir.rstrip("/") + "/allocwatch.sock"
    return f"/tmp/allocwatch-{os.getuid() if uid is None else uid}.sock"
