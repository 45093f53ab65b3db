/*
 * allocwatch.h: the allocwatch client for C (C11, libc and pthreads, Linux), in one header.
 *
 *   #define ALLOCWATCH_IMPLEMENTATION   // in exactly one translation unit
 *   #include "allocwatch.h"
 *
 * It speaks the native protocol of the allocwatch allocation server (docs/PROTOCOL.md, version 3; version 2
 * with a server that refuses 3, without contexts) and
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
 *
 * Contexts (what an allocation is for, e.g. the TT-NN operation "ttnn.matmul"): define each text once,
 * `ctx = allocwatch_define_context(client, "ttnn.matmul")`, then pass `ctx` to
 * allocwatch_record_alloc_ctx (allocwatch_record_alloc is the same with context 0 = none). The writer
 * sends every definition before the first event citing it, and again on every new connection; leak
 * reports and the allocation list group by it (docs/INTEGRATION.md section 7).
 */
#ifndef ALLOCWATCH_H
#define ALLOCWATCH_H

/* The implementation needs POSIX and Linux declarations (poll, eventfd, getrandom, MSG_NOSIGNAL): include
 * this header first in the file that defines ALLOCWATCH_IMPLEMENTATION, or build it with -D_GNU_SOURCE. */
#if defined(ALLOCWATCH_IMPLEMENTATION) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1
#endif

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

/* Most contexts one client defines (the server's default limit per process is the same). */
#define ALLOCWATCH_MAX_CONTEXTS 4096u
/* Longest context text, bytes of UTF-8. */
#define ALLOCWATCH_MAX_CONTEXT_BYTES 256u

/*
 * The id (1, 2, ...) of a context text: defined on first use, the same id for the same text afterwards.
 * Any thread; takes a mutex and compares with the texts defined so far: call it once per text and keep
 * the id. 0 (no context) when the text is NULL, empty, longer than 256 bytes, not UTF-8, or
 * ALLOCWATCH_MAX_CONTEXTS are defined already.
 */
uint32_t allocwatch_define_context(allocwatch_client *client, const char *text);

/* allocwatch_record_alloc with the allocation's context (an id from allocwatch_define_context; 0 = none). */
void allocwatch_record_alloc_ctx(allocwatch_client *client, uint16_t device_id, uint64_t seq, int memory_type,
                                 uint64_t allocation_id, uint64_t address, uint64_t size_bytes,
                                 uint32_t context_id);

/* Inside the snapshot callback only. */
int allocwatch_snapshot_begin(allocwatch_snapshot *snapshot, uint64_t watermark_seq, uint32_t allocations);
int allocwatch_snapshot_add(allocwatch_snapshot *snapshot, int memory_type, uint64_t allocation_id,
                            uint64_t address, uint64_t size_bytes);
/* allocwatch_snapshot_add with the allocation's context id (0 = none). */
int allocwatch_snapshot_add_ctx(allocwatch_snapshot *snapshot, int memory_type, uint64_t allocation_id,
                                uint64_t address, uint64_t size_bytes, uint32_t context_id);

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

#if defined(ALLOCWATCH_IMPLEMENTATION) && !defined(ALLOCWATCH_IMPLEMENTATION_DONE)
#define ALLOCWATCH_IMPLEMENTATION_DONE
#ifdef __cplusplus
#error "allocwatch.h: compile the implementation (ALLOCWATCH_IMPLEMENTATION) in a C file; C++ includes the declarations only"
#endif
/* ======================================================================================================
 * Implementation (C11 + POSIX + Linux). Design, in the order a record travels:
 *
 * - Devices: a 65536-entry u16 index (device id -> slot + 1, 0 = not announced), built at open, so
 *   stamp and record find a device with one load. Each device keeps its sequence counter on a cache
 *   line of its own (written under the program's allocator lock) and its `gated` flag on another (read
 *   by every record call).
 * - Queue: a bounded MPSC ring of 64-byte slots (a per-slot sequence number + the 48-byte wire record).
 *   A producer claims a position by CAS on the tail, provided it is less than a capacity ahead of the
 *   head the writer last published; writes the record and publishes it with a release store of the
 *   slot's sequence (position + 1). The writer consumes in order and publishes its head once per round:
 *   it never writes a slot, so a producer's record is stores only (no load of a line the writer owns).
 *   A full ring fails the claim: the record is dropped and counted, its device gated (see below).
 * - Timestamps (docs/PROTOCOL.md section 3.3: "ns since the reporting process's session started
 *   (monotonic)", informative only): the writer thread reads CLOCK_MONOTONIC every time it wakes (at
 *   least every flush interval) and publishes it; a record call copies the published value (one relaxed
 *   load), so the caller never reads a clock. Precision: the writer's wake period (<= flush_interval_ms,
 *   1 ms while events flow).
 * - Gating (as the TypeScript client, src/client/device-resync-state.ts): a device whose event was lost
 *   (queue full, invalid record, connection lost) is gated: its later records are dropped at once (cheap,
 *   and the server would only hold them behind the gap) until the writer has taken its snapshot. The
 *   writer clears the gate BEFORE calling the snapshot callback; the callback reads the watermark under
 *   the allocator lock, so any record that still saw the gate carries a seq <= watermark (its stamp was
 *   taken in a critical section before the callback's): nothing after the snapshot is lost.
 * - Writer thread: connects (non-blocking Unix socket), sends HELLO, waits for WELCOME (5 s), then
 *   loops: pending snapshots first, then queued events (records with seq <= the device's last snapshot
 *   watermark are skipped: the snapshot covers them) into EVENTS frames, written with
 *   send(MSG_NOSIGNAL | MSG_DONTWAIT), handling partial writes, EAGAIN and EINTR; reads RESYNC_REQUEST /
 *   ERROR; EOF, ERROR or a socket error: the connection is closed, every device gated, and reconnection
 *   tried with backoff (50 ms doubling to 2 s, +25% jitter; the same session id and resume secret). After
 *   each reconnect every device is resent whole (src/client/allocation-client.ts handleClosed does the
 *   same). While disconnected, the writer discards what is queued (counted as dropped).
 * ====================================================================================================== */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#error "allocwatch.h: include it before any system header in the implementation file, or build with -D_GNU_SOURCE"
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "allocwatch.h: the record path writes little-endian wire records in place; big-endian hosts are not supported"
#endif

#define ALLOCWATCH__MAGIC 0x48435741u
#define ALLOCWATCH__VERSION 3u            /* what HELLO says first: contexts */
#define ALLOCWATCH__PRE_CONTEXT_VERSION 2u /* what it says to a server that refuses version 3 */
#define ALLOCWATCH__RECORD_BYTES 48u
#define ALLOCWATCH__LIVE_RECORD_BYTES 32u
#define ALLOCWATCH__DEFAULT_MAX_FRAME 1048576u
#define ALLOCWATCH__MIN_MAX_FRAME 1024u
#define ALLOCWATCH__MAX_DEVICES 256u
#define ALLOCWATCH__U53 ((uint64_t)1 << 53)
#define ALLOCWATCH__HANDSHAKE_MS 5000u
#define ALLOCWATCH__OUT_TARGET_BYTES (256u * 1024u) /* events packed per write round */
#define ALLOCWATCH__IN_BYTES 8192u                  /* largest server frame: ERROR, ~4.2 KiB */
#define ALLOCWATCH__SHARDS 16u                      /* drop counters, one cache line each */
#define ALLOCWATCH__CACHE_LINE 64

enum { ALLOCWATCH__OP_ALLOC = 1, ALLOCWATCH__OP_FREE = 2 };
enum { ALLOCWATCH__T_HELLO = 1, ALLOCWATCH__T_WELCOME = 2, ALLOCWATCH__T_EVENTS = 3,
       ALLOCWATCH__T_SNAP_BEGIN = 4, ALLOCWATCH__T_SNAP_CHUNK = 5, ALLOCWATCH__T_SNAP_END = 6,
       ALLOCWATCH__T_RESYNC = 7, ALLOCWATCH__T_ERROR = 8, ALLOCWATCH__T_GOODBYE = 9,
       ALLOCWATCH__T_CONTEXT = 10 };
enum { ALLOCWATCH__BACKOFF = 0, ALLOCWATCH__AWAIT_WELCOME = 1, ALLOCWATCH__OPEN = 2 };

typedef struct allocwatch__slot {
  _Atomic uint64_t turn; /* position + 1 once the record at that position is published */
  unsigned char record[ALLOCWATCH__RECORD_BYTES];
  unsigned char pad[ALLOCWATCH__CACHE_LINE - 8 - ALLOCWATCH__RECORD_BYTES];
} allocwatch__slot;

typedef struct allocwatch__device {
  _Alignas(ALLOCWATCH__CACHE_LINE) _Atomic uint64_t seq; /* last stamp given */
  _Alignas(ALLOCWATCH__CACHE_LINE) _Atomic int gated;    /* events lost: drop until the snapshot */
  /* Writer-thread state. */
  int resync_requested;
  uint64_t watermark; /* last snapshot's watermark: queued records at or below it are covered */
  uint64_t retry_at_ms; /* a failed snapshot is asked again no sooner than this */
  uint16_t device_id;
  char *name;
  char *architecture;
  uint64_t capacity_bytes[ALLOCWATCH_MEMORY_TYPE_COUNT];
} allocwatch__device;

typedef struct allocwatch__shard {
  _Alignas(ALLOCWATCH__CACHE_LINE) _Atomic uint64_t dropped;
} allocwatch__shard;

struct allocwatch_snapshot {
  allocwatch_client *client;
  uint16_t device_id;
  int begun;
  uint64_t watermark;
  uint32_t total;
  uint32_t added;
  uint32_t per_chunk;
  int failed;
};

struct allocwatch_client {
  /* Read by every call, written once at open. */
  uint16_t *index; /* device id -> slot + 1 */
  allocwatch__device *devices;
  size_t device_count;
  allocwatch__slot *ring;
  uint64_t mask;
  /* Producers' tail (claims = events enqueued). */
  _Alignas(ALLOCWATCH__CACHE_LINE) _Atomic uint64_t tail;
  /* What producers read, written by the writer at most once per round: its line stays cached. */
  _Alignas(ALLOCWATCH__CACHE_LINE) _Atomic uint64_t head_pub; /* positions below it are free again */
  _Atomic uint64_t now_ns;                                    /* since open */
  /* Written by producers only when a device is gated. */
  _Alignas(ALLOCWATCH__CACHE_LINE) _Atomic int snapshot_hint; /* a device was gated: the writer should look */
  /* The writer's published state (flush, counters). */
  _Alignas(ALLOCWATCH__CACHE_LINE) _Atomic int state;
  _Atomic uint64_t settled;    /* ring positions written to a connection or discarded */
  _Atomic int snapshots_owed;  /* devices gated, asked for, or snapshot bytes not yet written */
  _Atomic int stopping;
  _Atomic uint64_t events_sent, events_discarded, snapshots_sent, resync_requests, connects, disconnects;
  allocwatch__shard shards[ALLOCWATCH__SHARDS];
  /* Options. */
  char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  allocwatch_snapshot_fn snapshot_fn;
  void *snapshot_user;
  uint32_t batch_events, flush_interval_ms, reconnect_initial_ms, reconnect_max_ms;
  unsigned char *hello;
  size_t hello_bytes;
  /* Contexts: texts[id - 1], appended under contexts_lock; published = how many, for the writer. */
  pthread_mutex_t contexts_lock;
  char **context_texts;
  _Atomic uint32_t contexts_published;
  /* Writer thread: the version this connection speaks (3, or 2 after a refusal), definitions sent on it. */
  uint16_t version;
  int fallback; /* the server refused version 3: reconnect at once with version 2 */
  uint32_t contexts_sent;
  /* Writer thread only. */
  pthread_t thread;
  int wake_fd;
  int fd;
  uint64_t head;
  struct timespec started;
  uint64_t backoff_ms, next_attempt_ms, handshake_deadline_ms, last_send_ms;
  uint64_t rng;
  uint32_t max_frame;
  unsigned char *out;
  size_t out_len, out_off, out_cap;
  uint64_t out_events;   /* events in out, counted sent once written */
  uint64_t out_head;     /* head when out was filled: settled once it is written */
  int out_snapshots;     /* snapshots in out */
  unsigned char in[ALLOCWATCH__IN_BYTES];
  size_t in_len;
  /* flush() waiters. */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  _Atomic int waiters;
};

static char *allocwatch__strdup(const char *s);

/* ---- little-endian writers (wire encoding) ---- */

/* The host is little-endian (checked above): the wire's integers are the host's, copied unaligned. */
static inline void allocwatch__u16(unsigned char *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void allocwatch__u32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void allocwatch__u64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint16_t allocwatch__get16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t allocwatch__get32(const unsigned char *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t allocwatch__get64(const unsigned char *p) {
  return (uint64_t)allocwatch__get32(p) | ((uint64_t)allocwatch__get32(p + 4) << 32);
}

/* One 48-byte event record (docs/PROTOCOL.md section 3.3). */
static inline void allocwatch__encode_record(unsigned char *r, int op, int memory_type, uint16_t device_id,
                                             uint64_t seq, uint64_t allocation_id, uint64_t address,
                                             uint64_t size_bytes, uint64_t timestamp_ns, uint32_t context_id) {
  r[0] = (unsigned char)op;
  r[1] = (unsigned char)memory_type;
  allocwatch__u16(r + 2, device_id);
  allocwatch__u32(r + 4, context_id); /* version 3; the writer zeroes it for a version 2 server */
  allocwatch__u64(r + 8, seq);
  allocwatch__u64(r + 16, allocation_id);
  allocwatch__u64(r + 24, address);
  allocwatch__u64(r + 32, size_bytes);
  allocwatch__u64(r + 40, timestamp_ns);
}

/* Well-formed UTF-8 (no overlongs, surrogates, or code points above U+10FFFF), as the server checks. */
static int allocwatch__utf8_ok(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) { i++; continue; }
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else return 0;
    if (i + len > n) return 0;
    if (s[i + 1] < lo || s[i + 1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return 0;
    i += len;
  }
  return 1;
}

static size_t allocwatch__put_string(unsigned char *p, const char *s) {
  size_t n = strlen(s);
  allocwatch__u16(p, (uint16_t)n);
  memcpy(p + 2, s, n);
  return 2 + n;
}

/* Bytes of the HELLO frame for these strings and devices (length field included). */
static size_t allocwatch__hello_bytes(const char *name, const allocwatch__device *devices, size_t count) {
  size_t n = 4 + 1 + 4 + 2 + 16 + 16 + 4 + 8 + 2 + strlen(name) + 2;
  for (size_t i = 0; i < count; i++)
    n += 2 + 2 + strlen(devices[i].name) + 2 + strlen(devices[i].architecture) + 8 * ALLOCWATCH_MEMORY_TYPE_COUNT;
  return n;
}

/* The HELLO frame (docs/PROTOCOL.md section 3.1) into `out`, which holds allocwatch__hello_bytes(). */
static size_t allocwatch__encode_hello(unsigned char *out, const unsigned char session_id[16],
                                       const unsigned char resume_secret[16], uint32_t pid,
                                       uint64_t start_ticks, const char *name,
                                       const allocwatch__device *devices, size_t count) {
  size_t total = allocwatch__hello_bytes(name, devices, count);
  unsigned char *p = out;
  allocwatch__u32(p, (uint32_t)(total - 4));
  p[4] = ALLOCWATCH__T_HELLO;
  allocwatch__u32(p + 5, ALLOCWATCH__MAGIC);
  allocwatch__u16(p + 9, ALLOCWATCH__VERSION);
  memcpy(p + 11, session_id, 16);
  memcpy(p + 27, resume_secret, 16);
  allocwatch__u32(p + 43, pid);
  allocwatch__u64(p + 47, start_ticks);
  p += 55;
  p += allocwatch__put_string(p, name);
  allocwatch__u16(p, (uint16_t)count);
  p += 2;
  for (size_t i = 0; i < count; i++) {
    allocwatch__u16(p, devices[i].device_id);
    p += 2;
    p += allocwatch__put_string(p, devices[i].name);
    p += allocwatch__put_string(p, devices[i].architecture);
    for (int t = 0; t < ALLOCWATCH_MEMORY_TYPE_COUNT; t++, p += 8) allocwatch__u64(p, devices[i].capacity_bytes[t]);
  }
  return (size_t)(p - out);
}

/* SNAPSHOT_BEGIN / SNAPSHOT_CHUNK header / SNAPSHOT_END (docs/PROTOCOL.md section 3.4). */
static size_t allocwatch__encode_snapshot_begin(unsigned char *p, uint16_t device_id, uint64_t watermark,
                                                uint32_t total) {
  allocwatch__u32(p, 15);
  p[4] = ALLOCWATCH__T_SNAP_BEGIN;
  allocwatch__u16(p + 5, device_id);
  allocwatch__u64(p + 7, watermark);
  allocwatch__u32(p + 15, total);
  return 19;
}
static size_t allocwatch__encode_chunk_header(unsigned char *p, uint16_t device_id, uint32_t count) {
  allocwatch__u32(p, 7 + ALLOCWATCH__LIVE_RECORD_BYTES * count);
  p[4] = ALLOCWATCH__T_SNAP_CHUNK;
  allocwatch__u16(p + 5, device_id);
  allocwatch__u32(p + 7, count);
  return 11;
}
static size_t allocwatch__encode_live(unsigned char *p, int memory_type, uint64_t allocation_id,
                                      uint64_t address, uint64_t size_bytes, uint32_t context_id) {
  memset(p, 0, 8);
  p[0] = (unsigned char)memory_type;
  allocwatch__u32(p + 4, context_id); /* version 3: bytes 4..7; 0 = none */
  allocwatch__u64(p + 8, allocation_id);
  allocwatch__u64(p + 16, address);
  allocwatch__u64(p + 24, size_bytes);
  return ALLOCWATCH__LIVE_RECORD_BYTES;
}
static size_t allocwatch__encode_snapshot_end(unsigned char *p, uint16_t device_id, uint64_t watermark) {
  allocwatch__u32(p, 11);
  p[4] = ALLOCWATCH__T_SNAP_END;
  allocwatch__u16(p + 5, device_id);
  allocwatch__u64(p + 7, watermark);
  return 15;
}
/* CONTEXT (docs/PROTOCOL.md section 3.8): id, then the text (n bytes, checked at definition). */
static size_t allocwatch__encode_context(unsigned char *p, uint32_t id, const char *text, size_t n) {
  allocwatch__u32(p, (uint32_t)(1 + 4 + 2 + n));
  p[4] = ALLOCWATCH__T_CONTEXT;
  allocwatch__u32(p + 5, id);
  allocwatch__u16(p + 9, (uint16_t)n);
  memcpy(p + 11, text, n);
  return 11 + n;
}
static size_t allocwatch__encode_goodbye(unsigned char *p) {
  allocwatch__u32(p, 1);
  p[4] = ALLOCWATCH__T_GOODBYE;
  return 5;
}
/* The 9-byte EVENTS header; the count is patched once the frame is filled. */
static size_t allocwatch__encode_events_header(unsigned char *p, uint32_t count) {
  allocwatch__u32(p, 5 + ALLOCWATCH__RECORD_BYTES * count);
  p[4] = ALLOCWATCH__T_EVENTS;
  allocwatch__u32(p + 5, count);
  return 9;
}

/* ---- process identity ---- */

/* Field 22 of /proc/self/stat (start time in clock ticks since boot), 0 when unreadable. */
static uint64_t allocwatch__start_ticks(void) {
  char buf[1024];
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the name (field 2) may hold spaces and parentheses */
  if (p == NULL) return 0;
  p++;
  for (int field = 3; field <= 22; field++) {
    while (*p == ' ') p++;
    if (*p == 0) return 0;
    if (field == 22) {
      uint64_t v = 0;
      while (*p >= '0' && *p <= '9') v = v * 10 + (uint64_t)(*p++ - '0');
      return v;
    }
    while (*p != ' ' && *p != 0) p++;
  }
  return 0;
}

static void allocwatch__comm(char *out, size_t cap) {
  out[0] = 0;
  int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, out, cap - 1);
  close(fd);
  if (n < 0) n = 0;
  out[n] = 0;
  char *nl = strchr(out, '\n');
  if (nl != NULL) *nl = 0;
  if (!allocwatch__utf8_ok((const unsigned char *)out, strlen(out))) snprintf(out, cap, "process");
}

static void allocwatch__random(unsigned char *out, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(out + got, n - got, 0);
    if (r > 0) got += (size_t)r;
    else if (r < 0 && errno == EINTR) continue;
    else break;
  }
  if (got == n) return;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    while (got < n) {
      ssize_t r = read(fd, out + got, n - got);
      if (r > 0) got += (size_t)r;
      else if (r < 0 && errno == EINTR) continue;
      else break;
    }
    close(fd);
  }
  if (got < n) { /* last resort: still unique per process and moment */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
    for (; got < n; got++) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      out[got] = (unsigned char)x;
    }
  }
}

/* ---- small helpers ---- */

static uint64_t allocwatch__mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t allocwatch__ms(allocwatch_client *c) {
  uint64_t start = (uint64_t)c->started.tv_sec * 1000000000u + (uint64_t)c->started.tv_nsec;
  return (allocwatch__mono_ns() - start) / 1000000u;
}

static void allocwatch__error(char *error, size_t bytes, const char *message) {
  if (error != NULL && bytes > 0) snprintf(error, bytes, "%s", message);
}

static inline allocwatch__device *allocwatch__find(allocwatch_client *c, uint16_t device_id) {
  uint16_t slot = c->index[device_id];
  return slot == 0 ? NULL : &c->devices[slot - 1];
}

/* A shard of the drop counter for this thread (assigned on its first drop). */
static _Thread_local unsigned allocwatch__thread_shard;
static _Atomic unsigned allocwatch__next_shard;

static void allocwatch__count_drop(allocwatch_client *c) {
  unsigned s = allocwatch__thread_shard;
  if (s == 0) {
    s = atomic_fetch_add_explicit(&allocwatch__next_shard, 1, memory_order_relaxed) % ALLOCWATCH__SHARDS + 1;
    allocwatch__thread_shard = s;
  }
  atomic_fetch_add_explicit(&c->shards[s - 1].dropped, 1, memory_order_relaxed);
}

static inline void allocwatch__gate(allocwatch_client *c, allocwatch__device *d) {
  if (!atomic_load_explicit(&d->gated, memory_order_relaxed)) {
    atomic_store_explicit(&d->gated, 1, memory_order_relaxed);
    atomic_store_explicit(&c->snapshot_hint, 1, memory_order_release);
  }
}

/* ---- public API: the record path ---- */

uint64_t allocwatch_stamp(allocwatch_client *client, uint16_t device_id) {
  uint16_t slot = client->index[device_id];
  if (slot == 0) return 0;
  return atomic_fetch_add_explicit(&client->devices[slot - 1].seq, 1, memory_order_relaxed) + 1;
}

uint64_t allocwatch_stamp_current(allocwatch_client *client, uint16_t device_id) {
  uint16_t slot = client->index[device_id];
  if (slot == 0) return 0;
  return atomic_load_explicit(&client->devices[slot - 1].seq, memory_order_relaxed);
}

static inline void allocwatch__record(allocwatch_client *c, int op, uint16_t device_id, uint64_t seq,
                                      int memory_type, uint64_t allocation_id, uint64_t address,
                                      uint64_t size_bytes, uint32_t context_id) {
  uint16_t index = c->index[device_id];
  if (index == 0) {
    allocwatch__count_drop(c);
    return;
  }
  allocwatch__device *d = &c->devices[index - 1];
  if (atomic_load_explicit(&d->gated, memory_order_relaxed)) {
    allocwatch__count_drop(c);
    return;
  }
  if ((unsigned)memory_type >= ALLOCWATCH_MEMORY_TYPE_COUNT || seq == 0 ||
      ((seq | allocation_id | address | size_bytes) >= ALLOCWATCH__U53)) {
    /* The wire cannot carry it; its seq would stay missing: resend the device whole instead. */
    allocwatch__count_drop(c);
    allocwatch__gate(c, d);
    return;
  }
  /* Claim a position. The slot's previous record was read by the writer before it published a head
   * past it (acquire below), so nothing here reads the slot's line: the stores go to the store buffer. */
  uint64_t pos = atomic_load_explicit(&c->tail, memory_order_relaxed);
  for (;;) {
    uint64_t head = atomic_load_explicit(&c->head_pub, memory_order_acquire);
    if ((int64_t)(pos - head) > (int64_t)c->mask) { /* full: drop, count, resend the device whole */
      allocwatch__count_drop(c);
      allocwatch__gate(c, d);
      return;
    }
    if (atomic_compare_exchange_weak_explicit(&c->tail, &pos, pos + 1, memory_order_relaxed, memory_order_relaxed))
      break;
  }
  allocwatch__slot *slot = &c->ring[pos & c->mask];
  /* An id never defined (a caller bug) is sent as none rather than as a reference the server lacks. */
  if (context_id > atomic_load_explicit(&c->contexts_published, memory_order_acquire)) context_id = 0;
  allocwatch__encode_record(slot->record, op, memory_type, device_id, seq, allocation_id, address, size_bytes,
                            atomic_load_explicit(&c->now_ns, memory_order_relaxed), context_id);
  atomic_store_explicit(&slot->turn, pos + 1, memory_order_release);
}

void allocwatch_record_alloc(allocwatch_client *client, uint16_t device_id, uint64_t seq, int memory_type,
                             uint64_t allocation_id, uint64_t address, uint64_t size_bytes) {
  allocwatch__record(client, ALLOCWATCH__OP_ALLOC, device_id, seq, memory_type, allocation_id, address,
                     size_bytes, 0);
}

void allocwatch_record_alloc_ctx(allocwatch_client *client, uint16_t device_id, uint64_t seq, int memory_type,
                                 uint64_t allocation_id, uint64_t address, uint64_t size_bytes,
                                 uint32_t context_id) {
  allocwatch__record(client, ALLOCWATCH__OP_ALLOC, device_id, seq, memory_type, allocation_id, address,
                     size_bytes, context_id);
}

uint32_t allocwatch_define_context(allocwatch_client *client, const char *text) {
  allocwatch_client *c = client;
  if (c == NULL || text == NULL) return 0;
  size_t n = strlen(text);
  if (n == 0 || n > ALLOCWATCH_MAX_CONTEXT_BYTES || !allocwatch__utf8_ok((const unsigned char *)text, n)) return 0;
  uint32_t id = 0;
  pthread_mutex_lock(&c->contexts_lock);
  uint32_t count = atomic_load_explicit(&c->contexts_published, memory_order_relaxed);
  for (uint32_t i = 0; i < count; i++)
    if (strcmp(c->context_texts[i], text) == 0) id = i + 1;
  if (id == 0 && count < ALLOCWATCH_MAX_CONTEXTS) {
    if (c->context_texts == NULL)
      c->context_texts = (char **)calloc(ALLOCWATCH_MAX_CONTEXTS, sizeof(char *));
    char *copy = c->context_texts == NULL ? NULL : allocwatch__strdup(text);
    if (copy != NULL) {
      c->context_texts[count] = copy;
      id = count + 1;
      /* Release: a record citing the id is published after this, so the writer sees the text first. */
      atomic_store_explicit(&c->contexts_published, id, memory_order_release);
    }
  }
  pthread_mutex_unlock(&c->contexts_lock);
  return id;
}

void allocwatch_record_free(allocwatch_client *client, uint16_t device_id, uint64_t seq, int memory_type,
                            uint64_t allocation_id, uint64_t address, uint64_t size_bytes) {
  allocwatch__record(client, ALLOCWATCH__OP_FREE, device_id, seq, memory_type, allocation_id, address,
                     size_bytes, 0);
}

/* ---- the writer's output buffer ---- */

static int allocwatch__reserve(allocwatch_client *c, size_t more) {
  if (c->out_len + more <= c->out_cap) return 0;
  size_t cap = c->out_cap ? c->out_cap : 65536;
  while (cap < c->out_len + more) cap *= 2;
  unsigned char *p = (unsigned char *)realloc(c->out, cap);
  if (p == NULL) return -1;
  c->out = p;
  c->out_cap = cap;
  return 0;
}

/* ---- snapshots (writer thread, inside the program's callback) ---- */

int allocwatch_snapshot_begin(allocwatch_snapshot *s, uint64_t watermark_seq, uint32_t allocations) {
  if (s == NULL || s->begun) {
    if (s != NULL) s->failed = 1;
    return ALLOCWATCH_ESNAPSHOT;
  }
  if (watermark_seq >= ALLOCWATCH__U53) {
    s->failed = 1;
    return ALLOCWATCH_EINVAL;
  }
  allocwatch_client *c = s->client;
  size_t chunks = allocations == 0 ? 0 : (allocations + s->per_chunk - 1) / s->per_chunk;
  size_t bytes = 19 + chunks * 11 + (size_t)allocations * ALLOCWATCH__LIVE_RECORD_BYTES + 15;
  if (allocwatch__reserve(c, bytes) != 0) {
    s->failed = 1;
    return ALLOCWATCH_ENOMEM;
  }
  s->begun = 1;
  s->watermark = watermark_seq;
  s->total = allocations;
  s->added = 0;
  c->out_len += allocwatch__encode_snapshot_begin(c->out + c->out_len, s->device_id, watermark_seq, allocations);
  return ALLOCWATCH_OK;
}

int allocwatch_snapshot_add(allocwatch_snapshot *s, int memory_type, uint64_t allocation_id, uint64_t address,
                            uint64_t size_bytes) {
  return allocwatch_snapshot_add_ctx(s, memory_type, allocation_id, address, size_bytes, 0);
}

int allocwatch_snapshot_add_ctx(allocwatch_snapshot *s, int memory_type, uint64_t allocation_id,
                                uint64_t address, uint64_t size_bytes, uint32_t context_id) {
  if (s == NULL || !s->begun || s->added >= s->total) {
    if (s != NULL) s->failed = 1;
    return ALLOCWATCH_ESNAPSHOT;
  }
  if ((unsigned)memory_type >= ALLOCWATCH_MEMORY_TYPE_COUNT || ((allocation_id | address | size_bytes) >= ALLOCWATCH__U53)) {
    s->failed = 1;
    return ALLOCWATCH_EINVAL;
  }
  allocwatch_client *c = s->client;
  if (s->added % s->per_chunk == 0) {
    uint32_t left = s->total - s->added;
    c->out_len += allocwatch__encode_chunk_header(c->out + c->out_len, s->device_id,
                                                  left < s->per_chunk ? left : s->per_chunk);
  }
  /* Definitions go out before the snapshot (allocwatch__send_contexts): only those may be cited. */
  if (c->version < ALLOCWATCH__VERSION || context_id > c->contexts_sent) context_id = 0;
  c->out_len += allocwatch__encode_live(c->out + c->out_len, memory_type, allocation_id, address, size_bytes,
                                        context_id);
  s->added++;
  return ALLOCWATCH_OK;
}

/* Takes device d's snapshot into the (empty) output buffer. 1: taken; 0: the callback failed. */
static int allocwatch__take_snapshot(allocwatch_client *c, allocwatch__device *d) {
  allocwatch_snapshot s;
  memset(&s, 0, sizeof s);
  s.client = c;
  s.device_id = d->device_id;
  s.per_chunk = (c->max_frame - 7) / ALLOCWATCH__LIVE_RECORD_BYTES;
  if (s.per_chunk > 32767) s.per_chunk = 32767;
  size_t mark = c->out_len;
  /* Clear the gate first: a record that still sees it was stamped before the callback's critical
   * section, so the watermark read there covers it. */
  atomic_store_explicit(&d->gated, 0, memory_order_seq_cst);
  d->resync_requested = 0;
  int rc = c->snapshot_fn(c->snapshot_user, d->device_id, &s);
  if (rc != 0 || s.failed || !s.begun || s.added != s.total) {
    c->out_len = mark;
    atomic_store_explicit(&d->gated, 1, memory_order_relaxed);
    d->retry_at_ms = allocwatch__ms(c) + c->reconnect_max_ms;
    return 0;
  }
  c->out_len += allocwatch__encode_snapshot_end(c->out + c->out_len, d->device_id, s.watermark);
  if (s.watermark > d->watermark) d->watermark = s.watermark;
  c->out_snapshots++;
  return 1;
}

/* ---- the writer thread ---- */

static void allocwatch__wake_flushers(allocwatch_client *c) {
  pthread_mutex_lock(&c->lock);
  if (atomic_load(&c->waiters) > 0) pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->lock);
}

/* Discards every published record (no connection to send them on); their devices are gated already. */
static void allocwatch__discard_queue(allocwatch_client *c) {
  uint64_t n = 0;
  for (;;) {
    allocwatch__slot *slot = &c->ring[c->head & c->mask];
    if (atomic_load_explicit(&slot->turn, memory_order_acquire) != c->head + 1) break;
    c->head++;
    n++;
  }
  atomic_store_explicit(&c->head_pub, c->head, memory_order_release);
  if (n > 0) atomic_fetch_add_explicit(&c->events_discarded, n, memory_order_relaxed);
  atomic_store_explicit(&c->settled, c->head, memory_order_release);
}

static void allocwatch__gate_all(allocwatch_client *c) {
  for (size_t i = 0; i < c->device_count; i++) allocwatch__gate(c, &c->devices[i]);
}

static void allocwatch__disconnect(allocwatch_client *c) {
  if (c->fd >= 0) {
    close(c->fd);
    c->fd = -1;
    atomic_fetch_add_explicit(&c->disconnects, 1, memory_order_relaxed);
  }
  /* What the kernel did not take is lost, and the next server may be a new one: resend every device. */
  if (c->out_events > 0) atomic_fetch_add_explicit(&c->events_discarded, c->out_events, memory_order_relaxed);
  c->out_len = c->out_off = 0;
  c->out_events = 0;
  c->out_snapshots = 0;
  c->in_len = 0;
  allocwatch__gate_all(c);
  atomic_store_explicit(&c->state, ALLOCWATCH__BACKOFF, memory_order_release);
  if (c->fallback) { /* an older server: again at once, in version 2 */
    c->fallback = 0;
    c->next_attempt_ms = allocwatch__ms(c);
    allocwatch__discard_queue(c);
    return;
  }
  uint64_t base = c->backoff_ms;
  c->backoff_ms = base * 2 > c->reconnect_max_ms ? c->reconnect_max_ms : base * 2;
  c->rng ^= c->rng << 13; c->rng ^= c->rng >> 7; c->rng ^= c->rng << 17;
  uint64_t jitter = base / 4 == 0 ? 0 : c->rng % (base / 4 + 1);
  c->next_attempt_ms = allocwatch__ms(c) + base + jitter;
  allocwatch__discard_queue(c);
}

/* Appends the CONTEXT frames of the definitions not yet sent on this connection (version 3 only). */
static int allocwatch__send_contexts(allocwatch_client *c) {
  if (c->version < ALLOCWATCH__VERSION) return 0;
  uint32_t published = atomic_load_explicit(&c->contexts_published, memory_order_acquire);
  if (c->contexts_sent >= published) return 0;
  int rc = 0;
  pthread_mutex_lock(&c->contexts_lock);
  for (uint32_t id = c->contexts_sent + 1; id <= published; id++) {
    const char *text = c->context_texts[id - 1];
    size_t n = strlen(text);
    if (allocwatch__reserve(c, 11 + n) != 0) {
      rc = -1;
      break;
    }
    c->out_len += allocwatch__encode_context(c->out + c->out_len, id, text, n);
    c->contexts_sent = id;
  }
  pthread_mutex_unlock(&c->contexts_lock);
  return rc;
}

static void allocwatch__connect(allocwatch_client *c) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    c->fd = -1;
    allocwatch__disconnect(c);
    return;
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, c->socket_path, strlen(c->socket_path));
  int rc;
  do rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) { /* ENOENT, ECONNREFUSED, EAGAIN (backlog full): try again later */
    close(fd);
    c->fd = -1;
    allocwatch__disconnect(c);
    return;
  }
  c->fd = fd;
  c->out_len = c->out_off = 0;
  c->out_events = 0;
  c->out_snapshots = 0;
  c->in_len = 0;
  c->max_frame = ALLOCWATCH__DEFAULT_MAX_FRAME;
  if (allocwatch__reserve(c, c->hello_bytes) != 0) {
    allocwatch__disconnect(c);
    return;
  }
  memcpy(c->out, c->hello, c->hello_bytes);
  c->out_len = c->hello_bytes;
  /* Every definition first: anything queued for this connection may cite them. */
  c->contexts_sent = 0;
  if (allocwatch__send_contexts(c) != 0) {
    allocwatch__disconnect(c);
    return;
  }
  c->out_head = c->head;
  c->handshake_deadline_ms = allocwatch__ms(c) + ALLOCWATCH__HANDSHAKE_MS;
  atomic_store_explicit(&c->state, ALLOCWATCH__AWAIT_WELCOME, memory_order_release);
}

/* Writes what the output buffer holds. 1: all written; 0: the socket is full; -1: the connection failed. */
static int allocwatch__send_out(allocwatch_client *c) {
  while (c->out_off < c->out_len) {
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c->out_off += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return -1;
  }
  if (c->out_events > 0) atomic_fetch_add_explicit(&c->events_sent, c->out_events, memory_order_relaxed);
  if (c->out_snapshots > 0)
    atomic_fetch_add_explicit(&c->snapshots_sent, (uint64_t)c->out_snapshots, memory_order_relaxed);
  c->out_len = c->out_off = 0;
  c->out_events = 0;
  c->out_snapshots = 0;
  atomic_store_explicit(&c->settled, c->out_head, memory_order_release);
  return 1;
}

/* Handles one frame from the server. 0: fine; -1: the connection must end. */
static int allocwatch__handle_frame(allocwatch_client *c, const unsigned char *f, uint32_t length) {
  int type = f[0];
  int state = atomic_load_explicit(&c->state, memory_order_relaxed);
  if (type == ALLOCWATCH__T_ERROR) { /* the server closes after it; reconnect with backoff */
    static const char unsupported[] = "PROTO_UNSUPPORTED_VERSION";
    size_t n = sizeof unsupported - 1;
    /* An older server refuses our version 3 HELLO: speak version 2 from now on (docs/PROTOCOL.md 9). */
    if (state == ALLOCWATCH__AWAIT_WELCOME && c->version == ALLOCWATCH__VERSION && length >= 3 + n &&
        allocwatch__get16(f + 1) == n && memcmp(f + 3, unsupported, n) == 0) {
      c->version = ALLOCWATCH__PRE_CONTEXT_VERSION;
      allocwatch__u16(c->hello + 9, ALLOCWATCH__PRE_CONTEXT_VERSION);
      c->fallback = 1;
    }
    return -1;
  }
  if (state == ALLOCWATCH__AWAIT_WELCOME) {
    if (type != ALLOCWATCH__T_WELCOME || length != 11 || allocwatch__get32(f + 1) != ALLOCWATCH__MAGIC ||
        allocwatch__get16(f + 5) != c->version)
      return -1;
    uint32_t max = allocwatch__get32(f + 7);
    if (max < ALLOCWATCH__MIN_MAX_FRAME || max > ALLOCWATCH__DEFAULT_MAX_FRAME) return -1;
    c->max_frame = max;
    c->backoff_ms = c->reconnect_initial_ms;
    atomic_fetch_add_explicit(&c->connects, 1, memory_order_relaxed);
    atomic_store_explicit(&c->state, ALLOCWATCH__OPEN, memory_order_release);
    return 0;
  }
  if (type != ALLOCWATCH__T_RESYNC || length < 5 || 5 + (uint32_t)allocwatch__get16(f + 3) != length) return -1;
  atomic_fetch_add_explicit(&c->resync_requests, 1, memory_order_relaxed);
  uint16_t device_id = allocwatch__get16(f + 1);
  for (size_t i = 0; i < c->device_count; i++)
    if (device_id == 0xFFFF || c->devices[i].device_id == device_id) c->devices[i].resync_requested = 1;
  return 0;
}

/* Reads what the server sent. 0: fine (nothing more for now); -1: the connection ended. */
static int allocwatch__read_in(allocwatch_client *c) {
  for (;;) {
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, MSG_DONTWAIT);
    if (n == 0) return -1;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      return -1;
    }
    c->in_len += (size_t)n;
    size_t off = 0;
    while (c->in_len - off >= 4) {
      uint32_t length = allocwatch__get32(c->in + off);
      if (length == 0 || length > sizeof c->in - 4) return -1;
      if (c->in_len - off < 4 + (size_t)length) break;
      if (allocwatch__handle_frame(c, c->in + off + 4, length) != 0) return -1;
      off += 4 + length;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
  }
}

/* Snapshots owed: gated or asked-for devices whose retry time has come. Takes them into `out`. */
static void allocwatch__take_snapshots(allocwatch_client *c, uint64_t now_ms) {
  /* Snapshot entries may cite any context defined so far: send those definitions first. */
  if (allocwatch__send_contexts(c) != 0) return;
  int look = atomic_exchange_explicit(&c->snapshot_hint, 0, memory_order_acquire);
  for (size_t i = 0; !look && i < c->device_count; i++) look = c->devices[i].resync_requested;
  if (!look) return;
  for (size_t i = 0; i < c->device_count; i++) {
    allocwatch__device *d = &c->devices[i];
    int owed = atomic_load_explicit(&d->gated, memory_order_acquire) || d->resync_requested;
    if (!owed) continue;
    if (d->retry_at_ms != 0 && now_ms < d->retry_at_ms) { /* a failed callback: not before its retry time */
      atomic_store_explicit(&c->snapshot_hint, 1, memory_order_relaxed);
      continue;
    }
    d->retry_at_ms = 0;
    if (!allocwatch__take_snapshot(c, d)) atomic_store_explicit(&c->snapshot_hint, 1, memory_order_relaxed);
  }
}

/* Packs queued records into EVENTS frames (up to the out target). Returns how many records it consumed. */
static uint64_t allocwatch__fill_events(allocwatch_client *c) {
  uint32_t per_frame = (c->max_frame - 5) / ALLOCWATCH__RECORD_BYTES;
  if (per_frame > c->batch_events) per_frame = c->batch_events;
  uint64_t consumed = 0;
  while (c->out_len < ALLOCWATCH__OUT_TARGET_BYTES) {
    if (allocwatch__reserve(c, 9 + (size_t)per_frame * ALLOCWATCH__RECORD_BYTES) != 0) break;
    size_t header = c->out_len;
    unsigned char *p = c->out + header + 9;
    uint32_t count = 0;
    int empty = 0;
    int define = 0; /* a record cites a context not yet sent on this connection */
    while (count < per_frame) {
      allocwatch__slot *slot = &c->ring[c->head & c->mask];
      if (atomic_load_explicit(&slot->turn, memory_order_acquire) != c->head + 1) {
        empty = 1;
        break;
      }
      const unsigned char *r = slot->record;
      uint32_t context_id = c->version < ALLOCWATCH__VERSION ? 0 : allocwatch__get32(r + 4);
      if (context_id > c->contexts_sent) {
        /* The record was published after its definition (release/acquire): the text is there. */
        if (context_id <= atomic_load_explicit(&c->contexts_published, memory_order_acquire)) {
          define = 1; /* end this frame here; the definition goes before the next one */
          break;
        }
        context_id = 0; /* never defined (record() prevents it): a frame never cites an unsent id */
      }
      uint16_t index = c->index[allocwatch__get16(r + 2)];
      if (allocwatch__get64(r + 8) > c->devices[index - 1].watermark) {
        memcpy(p, r, ALLOCWATCH__RECORD_BYTES);
        allocwatch__u32(p + 4, context_id); /* 0 for a version 2 server */
        p += ALLOCWATCH__RECORD_BYTES;
        count++;
      } else {
        atomic_fetch_add_explicit(&c->events_discarded, 1, memory_order_relaxed); /* covered by a snapshot */
      }
      c->head++;
      consumed++;
    }
    atomic_store_explicit(&c->head_pub, c->head, memory_order_release);
    if (count > 0) {
      allocwatch__encode_events_header(c->out + header, count);
      c->out_len = header + 9 + (size_t)count * ALLOCWATCH__RECORD_BYTES;
      c->out_events += count;
    }
    if (define) {
      if (allocwatch__send_contexts(c) != 0) break; /* out of memory: the next round tries again */
      continue;
    }
    if (empty) break;
  }
  c->out_head = c->head;
  return consumed;
}

static void allocwatch__publish_owed(allocwatch_client *c) {
  int owed = c->out_snapshots;
  for (size_t i = 0; i < c->device_count; i++)
    owed += atomic_load_explicit(&c->devices[i].gated, memory_order_relaxed) || c->devices[i].resync_requested;
  atomic_store_explicit(&c->snapshots_owed, owed, memory_order_release);
}

static void *allocwatch__writer(void *arg) {
  allocwatch_client *c = (allocwatch_client *)arg;
  allocwatch__connect(c);
  for (;;) {
    uint64_t now_ns = allocwatch__mono_ns();
    uint64_t start = (uint64_t)c->started.tv_sec * 1000000000u + (uint64_t)c->started.tv_nsec;
    atomic_store_explicit(&c->now_ns, now_ns - start, memory_order_relaxed);
    uint64_t now_ms = (now_ns - start) / 1000000u;
    int stopping = atomic_load_explicit(&c->stopping, memory_order_acquire);
    int state = atomic_load_explicit(&c->state, memory_order_relaxed);
    int timeout_ms = (int)c->flush_interval_ms;
    short events = 0;

    if (stopping) break;
    if (state == ALLOCWATCH__BACKOFF) {
      allocwatch__discard_queue(c);
      if (now_ms >= c->next_attempt_ms) {
        allocwatch__connect(c);
        continue;
      }
      uint64_t wait = c->next_attempt_ms - now_ms;
      if (wait < (uint64_t)timeout_ms) timeout_ms = (int)wait;
    } else {
      if (allocwatch__read_in(c) != 0) {
        allocwatch__disconnect(c);
        continue;
      }
      state = atomic_load_explicit(&c->state, memory_order_relaxed);
      if (state == ALLOCWATCH__AWAIT_WELCOME && now_ms >= c->handshake_deadline_ms) {
        allocwatch__disconnect(c);
        continue;
      }
      int written = allocwatch__send_out(c);
      if (written < 0) {
        allocwatch__disconnect(c);
        continue;
      }
      if (written == 1 && state == ALLOCWATCH__OPEN) {
        uint64_t queued = atomic_load_explicit(&c->tail, memory_order_relaxed) - c->head;
        int due = queued >= c->batch_events || now_ms - c->last_send_ms >= c->flush_interval_ms ||
                  atomic_load_explicit(&c->waiters, memory_order_relaxed) > 0;
        c->out_head = c->head;
        allocwatch__take_snapshots(c, now_ms);
        if (due && queued > 0) allocwatch__fill_events(c);
        if (c->out_len > 0) {
          c->last_send_ms = now_ms;
          written = allocwatch__send_out(c);
          if (written < 0) {
            allocwatch__disconnect(c);
            continue;
          }
        } else if (queued == 0) {
          atomic_store_explicit(&c->settled, c->head, memory_order_release);
        }
        if (written == 1 && queued >= c->batch_events) timeout_ms = 0; /* more is waiting */
        else if (queued > 0) timeout_ms = 1;
      }
      events = POLLIN;
      if (written == 0) events |= POLLOUT;
      if (state == ALLOCWATCH__AWAIT_WELCOME) {
        uint64_t wait = c->handshake_deadline_ms > now_ms ? c->handshake_deadline_ms - now_ms : 0;
        if (wait < (uint64_t)timeout_ms) timeout_ms = (int)wait;
      }
    }
    allocwatch__publish_owed(c);
    allocwatch__wake_flushers(c);
    if (timeout_ms == 0) continue;
    struct pollfd fds[2];
    int nfds = 1;
    fds[0].fd = c->wake_fd;
    fds[0].events = POLLIN;
    if (c->fd >= 0 && events != 0) {
      fds[1].fd = c->fd;
      fds[1].events = events;
      nfds = 2;
    }
    if (poll(fds, (nfds_t)nfds, timeout_ms) > 0 && (fds[0].revents & POLLIN)) {
      uint64_t v;
      ssize_t r = read(c->wake_fd, &v, sizeof v);
      (void)r;
    }
  }
  return NULL;
}

/* ---- open, flush, close ---- */

const char *allocwatch_strerror(int status) {
  switch (status) {
    case ALLOCWATCH_OK: return "ALLOCWATCH_OK";
    case ALLOCWATCH_EINVAL: return "ALLOCWATCH_EINVAL";
    case ALLOCWATCH_ENOMEM: return "ALLOCWATCH_ENOMEM";
    case ALLOCWATCH_ETHREAD: return "ALLOCWATCH_ETHREAD";
    case ALLOCWATCH_ETIMEDOUT: return "ALLOCWATCH_ETIMEDOUT";
    case ALLOCWATCH_ESNAPSHOT: return "ALLOCWATCH_ESNAPSHOT";
    default: return "ALLOCWATCH_UNKNOWN";
  }
}

static void allocwatch__free(allocwatch_client *c) {
  if (c == NULL) return;
  if (c->devices != NULL) {
    for (size_t i = 0; i < c->device_count; i++) {
      free(c->devices[i].name);
      free(c->devices[i].architecture);
    }
  }
  free(c->devices);
  free(c->index);
  free(c->ring);
  free(c->hello);
  free(c->out);
  if (c->context_texts != NULL) {
    uint32_t count = atomic_load_explicit(&c->contexts_published, memory_order_relaxed);
    for (uint32_t i = 0; i < count; i++) free(c->context_texts[i]);
    free(c->context_texts);
  }
  pthread_mutex_destroy(&c->contexts_lock);
  if (c->wake_fd >= 0) close(c->wake_fd);
  free(c);
}

static char *allocwatch__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = (char *)malloc(n);
  if (p != NULL) memcpy(p, s, n);
  return p;
}

static int allocwatch__check_string(const char *s, size_t max, const char *what, char *error, size_t bytes) {
  char message[160];
  if (s == NULL) {
    snprintf(message, sizeof message, "%s is NULL", what);
  } else if (strlen(s) > max) {
    snprintf(message, sizeof message, "%s is %zu bytes, above its limit of %zu", what, strlen(s), max);
  } else if (!allocwatch__utf8_ok((const unsigned char *)s, strlen(s))) {
    snprintf(message, sizeof message, "%s is not well-formed UTF-8", what);
  } else {
    return 0;
  }
  allocwatch__error(error, bytes, message);
  return -1;
}

int allocwatch_open(const allocwatch_options *o, allocwatch_client **out, char *error, size_t error_bytes) {
  char message[200];
  if (out != NULL) *out = NULL;
  if (o == NULL || out == NULL) {
    allocwatch__error(error, error_bytes, "options and out are required");
    return ALLOCWATCH_EINVAL;
  }
  if (o->snapshot == NULL) {
    allocwatch__error(error, error_bytes, "options.snapshot (the snapshot callback) is required");
    return ALLOCWATCH_EINVAL;
  }
  if (o->device_count == 0 || o->devices == NULL || o->device_count > ALLOCWATCH__MAX_DEVICES) {
    allocwatch__error(error, error_bytes, "options.devices: between 1 and 256 devices are required");
    return ALLOCWATCH_EINVAL;
  }
  uint32_t queue = o->queue_events ? o->queue_events : 65536;
  if (queue < 2 || (queue & (queue - 1)) != 0) {
    allocwatch__error(error, error_bytes, "options.queue_events must be a power of two, at least 2");
    return ALLOCWATCH_EINVAL;
  }
  const char *path = o->socket_path;
  char fallback[sizeof(((struct sockaddr_un *)0)->sun_path) + 64];
  if (path == NULL || path[0] == 0) {
    const char *env = getenv("ALLOCWATCH_SOCKET");
    const char *runtime = getenv("XDG_RUNTIME_DIR");
    if (env != NULL && env[0] != 0) {
      path = env;
    } else if (runtime != NULL && runtime[0] != 0) {
      size_t n = strlen(runtime);
      while (n > 0 && runtime[n - 1] == '/') n--;
      snprintf(fallback, sizeof fallback, "%.*s/allocwatch.sock", (int)(n > 100 ? 100 : n), runtime);
      if (n > 100) fallback[0] = 0, path = NULL;
      else path = fallback;
    } else {
      snprintf(fallback, sizeof fallback, "/tmp/allocwatch-%u.sock", (unsigned)getuid());
      path = fallback;
    }
  }
  if (path == NULL || strlen(path) + 1 > sizeof(((struct sockaddr_un *)0)->sun_path)) {
    allocwatch__error(error, error_bytes, "the socket path is longer than 107 bytes");
    return ALLOCWATCH_EINVAL;
  }
  char name[257];
  if (o->process_name != NULL) {
    if (allocwatch__check_string(o->process_name, 256, "options.process_name", error, error_bytes) != 0)
      return ALLOCWATCH_EINVAL;
    snprintf(name, sizeof name, "%s", o->process_name);
  } else {
    allocwatch__comm(name, sizeof name);
  }
  for (size_t i = 0; i < o->device_count; i++) {
    const allocwatch_device *d = &o->devices[i];
    snprintf(message, sizeof message, "device %zu name", i);
    if (allocwatch__check_string(d->name, 128, message, error, error_bytes) != 0) return ALLOCWATCH_EINVAL;
    snprintf(message, sizeof message, "device %zu architecture", i);
    if (allocwatch__check_string(d->architecture, 64, message, error, error_bytes) != 0) return ALLOCWATCH_EINVAL;
    if (d->device_id == 0xFFFF) {
      allocwatch__error(error, error_bytes, "device id 0xFFFF is reserved (ALL_DEVICES)");
      return ALLOCWATCH_EINVAL;
    }
    for (size_t j = 0; j < i; j++)
      if (o->devices[j].device_id == d->device_id) {
        snprintf(message, sizeof message, "device id %u is listed twice", (unsigned)d->device_id);
        allocwatch__error(error, error_bytes, message);
        return ALLOCWATCH_EINVAL;
      }
    for (int t = 0; t < ALLOCWATCH_MEMORY_TYPE_COUNT; t++)
      if (d->capacity_bytes[t] >= ALLOCWATCH__U53) {
        allocwatch__error(error, error_bytes, "a device capacity is not below 2^53 bytes");
        return ALLOCWATCH_EINVAL;
      }
  }

  allocwatch_client *c = (allocwatch_client *)aligned_alloc(ALLOCWATCH__CACHE_LINE,
      (sizeof(allocwatch_client) + ALLOCWATCH__CACHE_LINE - 1) / ALLOCWATCH__CACHE_LINE * ALLOCWATCH__CACHE_LINE);
  if (c == NULL) {
    allocwatch__error(error, error_bytes, "out of memory");
    return ALLOCWATCH_ENOMEM;
  }
  memset(c, 0, sizeof *c);
  c->wake_fd = -1;
  c->fd = -1;
  memcpy(c->socket_path, path, strlen(path) + 1); /* length checked above */
  c->snapshot_fn = o->snapshot;
  c->snapshot_user = o->snapshot_user;
  c->batch_events = o->batch_events ? o->batch_events : 1024;
  c->flush_interval_ms = o->flush_interval_ms ? o->flush_interval_ms : 5;
  c->reconnect_initial_ms = o->reconnect_initial_ms ? o->reconnect_initial_ms : 50;
  c->reconnect_max_ms = o->reconnect_max_ms ? o->reconnect_max_ms : 2000;
  if (c->reconnect_max_ms < c->reconnect_initial_ms) c->reconnect_max_ms = c->reconnect_initial_ms;
  c->backoff_ms = c->reconnect_initial_ms;
  c->max_frame = ALLOCWATCH__DEFAULT_MAX_FRAME;
  c->version = ALLOCWATCH__VERSION;
  atomic_init(&c->contexts_published, 0);
  pthread_mutex_init(&c->contexts_lock, NULL);
  c->mask = queue - 1;
  c->device_count = o->device_count;
  c->index = (uint16_t *)calloc(65536, sizeof(uint16_t));
  c->devices = (allocwatch__device *)aligned_alloc(ALLOCWATCH__CACHE_LINE, sizeof(allocwatch__device) * o->device_count);
  c->ring = (allocwatch__slot *)aligned_alloc(ALLOCWATCH__CACHE_LINE, sizeof(allocwatch__slot) * (size_t)queue);
  if (c->index == NULL || c->devices == NULL || c->ring == NULL) {
    if (c->devices != NULL) memset(c->devices, 0, sizeof(allocwatch__device) * o->device_count);
    allocwatch__free(c);
    allocwatch__error(error, error_bytes, "out of memory");
    return ALLOCWATCH_ENOMEM;
  }
  memset(c->devices, 0, sizeof(allocwatch__device) * o->device_count);
  for (uint64_t i = 0; i < queue; i++) atomic_init(&c->ring[i].turn, 0);
  int oom = 0;
  for (size_t i = 0; i < o->device_count; i++) {
    allocwatch__device *d = &c->devices[i];
    d->device_id = o->devices[i].device_id;
    d->name = allocwatch__strdup(o->devices[i].name);
    d->architecture = allocwatch__strdup(o->devices[i].architecture);
    oom |= d->name == NULL || d->architecture == NULL;
    memcpy(d->capacity_bytes, o->devices[i].capacity_bytes, sizeof d->capacity_bytes);
    c->index[d->device_id] = (uint16_t)(i + 1);
  }
  unsigned char session[16], secret[16], seed[8];
  allocwatch__random(session, 16);
  allocwatch__random(secret, 16);
  allocwatch__random(seed, 8);
  c->rng = allocwatch__get64(seed) | 1;
  c->hello_bytes = allocwatch__hello_bytes(name, c->devices, c->device_count);
  c->hello = oom ? NULL : (unsigned char *)malloc(c->hello_bytes);
  if (c->hello == NULL) {
    allocwatch__free(c);
    allocwatch__error(error, error_bytes, "out of memory");
    return ALLOCWATCH_ENOMEM;
  }
  allocwatch__encode_hello(c->hello, session, secret, (uint32_t)getpid(), allocwatch__start_ticks(), name,
                           c->devices, c->device_count);
  clock_gettime(CLOCK_MONOTONIC, &c->started);
  c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&c->cond, &attr);
  pthread_condattr_destroy(&attr);
  pthread_mutex_init(&c->lock, NULL);
  if (c->wake_fd < 0 || pthread_create(&c->thread, NULL, allocwatch__writer, c) != 0) {
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    allocwatch__free(c);
    allocwatch__error(error, error_bytes, "the writer thread could not be started");
    return ALLOCWATCH_ETHREAD;
  }
  *out = c;
  return ALLOCWATCH_OK;
}

static void allocwatch__wake(allocwatch_client *c) {
  uint64_t one = 1;
  ssize_t r = write(c->wake_fd, &one, sizeof one);
  (void)r;
}

/* Everything recorded before `target` settled, and no snapshot owed on an open connection; or no connection. */
static int allocwatch__flushed(allocwatch_client *c, uint64_t target) {
  int state = atomic_load_explicit(&c->state, memory_order_acquire);
  if (state == ALLOCWATCH__BACKOFF) return 1;
  if (atomic_load_explicit(&c->settled, memory_order_acquire) < target) return 0;
  return state == ALLOCWATCH__OPEN && atomic_load_explicit(&c->snapshots_owed, memory_order_acquire) == 0;
}

int allocwatch_flush(allocwatch_client *client, uint32_t timeout_ms) {
  allocwatch_client *c = client;
  uint64_t target = atomic_load_explicit(&c->tail, memory_order_acquire);
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&c->lock);
  atomic_fetch_add(&c->waiters, 1);
  pthread_mutex_unlock(&c->lock);
  allocwatch__wake(c);
  int rc = ALLOCWATCH_OK;
  pthread_mutex_lock(&c->lock);
  /* The writer re-publishes after every round: re-check at least every 5 ms in case a broadcast raced. */
  while (!allocwatch__flushed(c, target)) {
    struct timespec now, step;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > deadline.tv_sec || (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)) {
      rc = ALLOCWATCH_ETIMEDOUT;
      break;
    }
    step = now;
    step.tv_nsec += 5000000L;
    if (step.tv_nsec >= 1000000000L) {
      step.tv_sec++;
      step.tv_nsec -= 1000000000L;
    }
    if (step.tv_sec > deadline.tv_sec || (step.tv_sec == deadline.tv_sec && step.tv_nsec > deadline.tv_nsec))
      step = deadline;
    pthread_cond_timedwait(&c->cond, &c->lock, &step);
  }
  atomic_fetch_sub(&c->waiters, 1);
  pthread_mutex_unlock(&c->lock);
  return rc;
}

void allocwatch_close(allocwatch_client *client, uint32_t timeout_ms) {
  allocwatch_client *c = client;
  if (c == NULL) return;
  uint64_t started = allocwatch__ms(c);
  allocwatch_flush(c, timeout_ms);
  atomic_store_explicit(&c->stopping, 1, memory_order_release);
  allocwatch__wake(c);
  pthread_join(c->thread, NULL);
  /* The writer has stopped: this thread owns the connection now. GOODBYE after what is still unsent. */
  if (c->fd >= 0 && atomic_load_explicit(&c->state, memory_order_relaxed) == ALLOCWATCH__OPEN &&
      allocwatch__reserve(c, 5) == 0) {
    c->out_len += allocwatch__encode_goodbye(c->out + c->out_len);
    for (;;) {
      int written = allocwatch__send_out(c);
      if (written != 0) break;
      uint64_t spent = allocwatch__ms(c) - started;
      if (spent >= timeout_ms) break;
      struct pollfd p = {c->fd, POLLOUT, 0};
      poll(&p, 1, (int)(timeout_ms - spent));
    }
  }
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  pthread_cond_destroy(&c->cond);
  pthread_mutex_destroy(&c->lock);
  allocwatch__free(c);
}

void allocwatch_get_counters(allocwatch_client *client, allocwatch_counters *out) {
  allocwatch_client *c = client;
  uint64_t dropped = 0;
  for (unsigned i = 0; i < ALLOCWATCH__SHARDS; i++)
    dropped += atomic_load_explicit(&c->shards[i].dropped, memory_order_relaxed);
  uint64_t enqueued = atomic_load_explicit(&c->tail, memory_order_relaxed);
  out->events_recorded = enqueued + dropped;
  out->events_sent = atomic_load_explicit(&c->events_sent, memory_order_relaxed);
  out->events_dropped = dropped + atomic_load_explicit(&c->events_discarded, memory_order_relaxed);
  out->snapshots_sent = atomic_load_explicit(&c->snapshots_sent, memory_order_relaxed);
  out->resync_requests = atomic_load_explicit(&c->resync_requests, memory_order_relaxed);
  out->connects = atomic_load_explicit(&c->connects, memory_order_relaxed);
  out->disconnects = atomic_load_explicit(&c->disconnects, memory_order_relaxed);
}
#endif
