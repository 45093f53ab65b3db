#!/usr/bin/env python3
"""The churn contract (test/clients/churn-harness.ts): T threads share D devices, each with a small
first-fit allocator; every change is stamped inside the allocator's lock and recorded after it. After N
ops it flushes, prints ONE JSON line {"pid", "events", "live"}, holds the live set for H ms, closes the
client and exits 0 (also with no server).

    churn.py --socket PATH --threads T --ops N --devices D --hold-ms H [--seed S]
"""

import argparse
import json
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from allocwatch import Client, Device, MemoryType  # noqa: E402

#: Address range per memory type (bytes) and the sizes drawn for it (multiples of 32 bytes).
REGIONS = {
    MemoryType.DRAM: (1 << 30, 32, 1 << 20),
    MemoryType.L1: (1499136, 32, 16 << 10),
    MemoryType.CB: (1 << 20, 32, 8 << 10),
}
#: Above this many live allocations per device the churn frees more often than it allocates.
TARGET_LIVE = 256


class FirstFit:
    """A first-fit allocator over [0, capacity): a freed block is merged with its neighbours and the
    lowest fitting address is handed out, so a freed address comes straight back."""

    def __init__(self, capacity: int) -> None:
        self.free = [(0, capacity)]  # sorted (address, size)

    def alloc(self, size: int):
        for index, (address, block) in enumerate(self.free):
            if block >= size:
                if block == size:
                    del self.free[index]
                else:
                    self.free[index] = (address + size, block - size)
                return address
        return None

    def release(self, address: int, size: int) -> None:
        free = self.free
        low, high = 0, len(free)
        while low < high:
            mid = (low + high) // 2
            if free[mid][0] < address:
                low = mid + 1
            else:
                high = mid
        free.insert(low, (address, size))
        if low + 1 < len(free) and address + size == free[low + 1][0]:
            free[low] = (address, size + free[low + 1][1])
            del free[low + 1]
        if low > 0 and free[low - 1][0] + free[low - 1][1] == address:
            free[low - 1] = (free[low - 1][0], free[low - 1][1] + free[low][1])
            del free[low]


class DeviceAllocator:
    """One device: its lock, one first-fit range per memory type, its allocation-id counter, and the
    pool of live allocations that any thread may free."""

    def __init__(self, device_id: int) -> None:
        self.device_id = device_id
        self.lock = threading.Lock()
        self.ranges = {t: FirstFit(capacity) for t, (capacity, _, _) in REGIONS.items()}
        self.next_id = 1
        self.live = []  # [(memory_type, allocation_id, address, size)]


def snapshot_of(devices):
    def snapshot(device_id, snap):
        device = devices[device_id]
        with device.lock:
            snap.begin(client_ref[0].stamp_current(device_id), len(device.live))
            for memory_type, allocation_id, address, size in device.live:
                snap.add(memory_type, allocation_id, address, size)
    return snapshot


client_ref = []


def worker(client, devices, ops, rng, counts, index):
    events = 0
    types = list(REGIONS)
    for _ in range(ops):
        device = devices[rng.randrange(len(devices))]
        free = len(device.live) > 0 and (len(device.live) >= TARGET_LIVE or rng.random() < 0.5)
        if not free:
            memory_type = rng.choice(types)
            _, low, high = REGIONS[memory_type]
            size = rng.randint(low // 32, high // 32) * 32
            with device.lock:
                address = device.ranges[memory_type].alloc(size)
                if address is None:
                    free = len(device.live) > 0
                else:
                    allocation_id = device.next_id
                    device.next_id += 1
                    device.live.append((memory_type, allocation_id, address, size))
                    seq = client.stamp(device.device_id)
            if address is not None:
                client.record_alloc(device.device_id, seq, memory_type, allocation_id, address, size)
                events += 1
                continue
        if free:
            with device.lock:
                if not device.live:
                    continue
                pick = rng.randrange(len(device.live))
                device.live[pick], device.live[-1] = device.live[-1], device.live[pick]
                memory_type, allocation_id, address, size = device.live.pop()
                device.ranges[memory_type].release(address, size)
                seq = client.stamp(device.device_id)
            client.record_free(device.device_id, seq, memory_type, allocation_id, address, size)
            events += 1
    counts[index] = events


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--ops", type=int, required=True)
    parser.add_argument("--devices", type=int, required=True)
    parser.add_argument("--hold-ms", type=int, required=True)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--queue-events", type=int, default=None,
                        help="the client's queue capacity (small: events are dropped and healed by snapshots)")
    parser.add_argument("--verbose", action="store_true", help="the client's counters on stderr at the end")
    args = parser.parse_args()
    if args.threads < 1 or args.devices < 1 or args.devices > 256 or args.ops < 0 or args.hold_ms < 0:
        parser.error("--threads >= 1, 1 <= --devices <= 256, --ops >= 0, --hold-ms >= 0")
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)

    devices = [DeviceAllocator(d) for d in range(args.devices)]
    described = [Device(d, "churn", "python", tuple(REGIONS.get(MemoryType(t), (0,))[0] for t in range(7)))
                 for d in range(args.devices)]
    options = {} if args.queue_events is None else {"queue_events": args.queue_events}
    client = Client(described, snapshot_of(devices), socket_path=args.socket, process_name="churn.py", **options)
    client_ref.append(client)

    counts = [0] * args.threads
    threads = []
    for index in range(args.threads):
        ops = args.ops // args.threads + (1 if index < args.ops % args.threads else 0)
        rng = random.Random(seed * 1000003 + index)
        threads.append(threading.Thread(target=worker, args=(client, devices, ops, rng, counts, index)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    client.flush(10_000)
    live = {}
    for device in devices:
        per_type = {t.name: 0 for t in REGIONS}
        for memory_type, _, _, size in device.live:
            per_type[MemoryType(memory_type).name] += size
        live[str(device.device_id)] = per_type
    counters = client.counters  # before the report line: a harness may stop the churn right after it
    if args.verbose:
        print(f"churn: sent {counters.events_sent}, dropped {counters.events_dropped}, snapshots "
              f"{counters.snapshots_sent}, connects {counters.connects}", file=sys.stderr, flush=True)
    print(json.dumps({"pid": os.getpid(), "events": sum(counts), "live": live}), flush=True)
    time.sleep(args.hold_ms / 1000)
    client.close(5_000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
