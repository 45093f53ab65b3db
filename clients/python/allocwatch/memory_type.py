"""Memory types, numbered as on the wire (docs/PROTOCOL.md section 1)."""

from enum import IntEnum

MEMORY_TYPE_COUNT = 7


class MemoryType(IntEnum):
    DRAM = 0
    L1 = 1
    SYSTEM_MEMORY = 2
    L1_SMALL = 3
    TRACE = 4
    CB = 5
    KERNEL = 6
