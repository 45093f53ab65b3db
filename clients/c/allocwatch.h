/*
 * allocwatch.h: the allocwatch client for C (C11, libc and pthreads, Linux), in one header.
 *
 *   #define ALLOCWATCH_IMPLEMENTATION   // in exactly one translation unit
 *   #include "allocwatch.h"
 *
 * It speaks the native protocol of the allocwatch allocation server (docs/PROTOCOL.md, version 2) and
 * reports a program's device allocations exactly, whatever the interleaving of its threads:
 *
 *   1. Inside the allocator's critical section (under its mutex), take the device's next sequence
 *      number: `seq = allocwatch_stamp(client, device)` (one atomic increment, nothing else).
 *   2. After the lock is released, report the change with that stamp:
 *      `allocwatch_record_alloc(client, device, seq, ALLOCWATCH_DRAM, id, address, size)`.
 *   The stamp orders every free before any reuse of its address; the record call only copies 48 bytes
 *   into a bounded lock-free queue (no system call, no allocation, never blocks). A background writer
 *   thread batches the queue into EVENTS frames, connects and reconnects with backoff, answers the
 *   server's RESYNC_REQUEST with a snapshot the program lists through a callback, and never raises
 *   SIGPIPE. When the queue is full, events are dropped and counted, and the device is resent whole as
 *   a snapshot: the caller is never slowed down by the server.
 *
 * Allocation ids: unique within (process, device) and never reused by the process (tt-metal:
 * Buffer::unique_id()); never the address, which is reused.
 */
#ifndef ALLOCWATCH_H
#define ALLOCWATCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Memory types, numbered as on the wire (docs/PROTOCOL.md section 1; tt-metal's BufferType for 0..4). */
enum allocwatch_memory_type {
  ALLOCWATCH_DRAM = 0,
  ALLOCWATCH_L1 = 1,
  ALLOCWATCH_SYSTEM_MEMORY = 2,
  ALLOCWATCH_L1_SMALL = 3,
  ALLOCWATCH_TRACE = 4,
  ALLOCWATCH_CB = 5,
  ALLOCWATCH_KERNEL = 6
};
#define ALLOCWATCH_MEMORY_TYPE_COUNT 7

/* Result codes: 0 is success; each has a stable name (allocwatch_strerror). */
enum allocwatch_status {
  ALLOCWATCH_OK = 0,
  ALLOCWATCH_EINVAL = 1,    /* an argument or option is invalid (the message says which) */
  ALLOCWATCH_ENOMEM = 2,    /* allocwatch_open could not allocate its queue or state */
  ALLOCWATCH_ETHREAD = 3,   /* the writer thread could not be started */
  ALLOCWATCH_ETIMEDOUT = 4, /* allocwatch_flush: not everything was sent in time */
  ALLOCWATCH_ESNAPSHOT = 5  /* a snapshot call out of order, or more entries than announced */
};

typedef struct allocwatch_client allocwatch_client;
typedef struct allocwatch_snapshot allocwatch_snapshot;

/* A device the program reports on, as it describes it in HELLO. Strings are UTF-8, copied at open. */
typedef struct allocwatch_device {
  uint16_t device_id;       /* not 0xFFFF */
  const char *name;         /* e.g. "wormhole_b0_n150"; at most 128 bytes */
  const char *architecture; /* e.g. "WORMHOLE_B0"; at most 64 bytes */
  uint64_t capacity_bytes[ALLOCWATCH_MEMORY_TYPE_COUNT]; /* per memory type; 0 = none/unknown */
} allocwatch_device;

/*
 * The program's live allocations of one device, asked on the writer thread when the server requests a
 * resync or after events were dropped. Take the allocator's lock, call allocwatch_snapshot_begin() with
 * allocwatch_stamp_current() of the device and the number of live allocations, then
 * allocwatch_snapshot_add() once per live allocation, then release the lock. Return 0, or non-zero to
 * be asked again later (the snapshot is then abandoned).
 */
typedef int (*allocwatch_snapshot_fn)(void *user, uint16_t device_id, allocwatch_snapshot *snapshot);

typedef struct allocwatch_options {
  /* NULL: $ALLOCWATCH_SOCKET, else $XDG_RUNTIME_DIR/allocwatch.sock, else /tmp/allocwatch-<uid>.sock. */
  const char *socket_path;
  /* NULL: /proc/self/comm. At most 256 bytes. */
  const char *process_name;
  const allocwatch_device *devices; /* the devices this process reports on (at most 256) */
  size_t device_count;
  allocwatch_snapshot_fn snapshot; /* required */
  void *snapshot_user;
  uint32_t queue_events;       /* queue capacity, events, a power of two; 0: 65536 */
  uint32_t batch_events;       /* send when this many are queued; 0: 1024 */
  uint32_t flush_interval_ms;  /* send what is queued at least this often; 0: 5 */
  uint32_t reconnect_initial_ms; /* first reconnect delay; 0: 50 (doubles up to the max) */
  uint32_t reconnect_max_ms;     /* 0: 2000 */
} allocwatch_options;

/* What the client did so far (all counts since open). */
typedef struct allocwatch_counters {
  uint64_t events_recorded;   /* record calls */
  uint64_t events_sent;       /* events written to a connection */
  uint64_t events_dropped;    /* record calls that found the queue full (their devices were resent whole) */
  uint64_t snapshots_sent;
  uint64_t resync_requests;   /* RESYNC_REQUEST frames received */
  uint64_t connects;          /* WELCOMEs received */
  uint64_t disconnects;
} allocwatch_counters;

/*
 * Starts the client: copies the options, starts the writer thread, returns at once (it connects in the
 * background; no server is not an error). Returns ALLOCWATCH_OK and sets *out, or an error code (and
 * writes why into `error`, when given, at most error_bytes bytes including the NUL).
 */
int allocwatch_open(const allocwatch_options *options, allocwatch_client **out, char *error, size_t error_bytes);

/* The device's next sequence number (1, 2, ...). Call it INSIDE the allocator's critical section. */
uint64_t allocwatch_stamp(allocwatch_client *client, uint16_t device_id);

/* The last number allocwatch_stamp gave for the device (0: none yet): a snapshot's watermark. */
uint64_t allocwatch_stamp_current(allocwatch_client *client, uint16_t device_id);

/* Reports an allocation / a free with its stamp, after the lock is released. Never blocks. */
void allocwatch_record_alloc(allocwatch_client *client, uint16_t device_id, uint64_t seq, int memory_type,
                             uint64_t allocation_id, uint64_t address, uint64_t size_bytes);
void allocwatch_record_free(allocwatch_client *client, uint16_t device_id, uint64_t seq, int memory_type,
                            uint64_t allocation_id, uint64_t address, uint64_t size_bytes);

/* Inside the snapshot callback only. */
int allocwatch_snapshot_begin(allocwatch_snapshot *snapshot, uint64_t watermark_seq, uint32_t allocations);
int allocwatch_snapshot_add(allocwatch_snapshot *snapshot, int memory_type, uint64_t allocation_id,
                            uint64_t address, uint64_t size_bytes);

/* Waits until everything recorded before the call was written to the server, or timeout_ms passed. */
int allocwatch_flush(allocwatch_client *client, uint32_t timeout_ms);

/* Flushes (up to timeout_ms), says GOODBYE, stops the writer thread and frees the client. */
void allocwatch_close(allocwatch_client *client, uint32_t timeout_ms);

void allocwatch_get_counters(allocwatch_client *client, allocwatch_counters *out);

/* "ALLOCWATCH_EINVAL", ...: the stable name of a result code. */
const char *allocwatch_strerror(int status);

#ifdef __cplusplus
}
#endif

#endif /* ALLOCWATCH_H */

#ifdef ALLOCWATCH_IMPLEMENTATION
/* The implementation follows (clients/c: to be written). */
#endif
