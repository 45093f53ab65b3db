/*
 * churn: the native-client test driver (the contract of test/clients/churn-harness.ts).
 *
 *   churn --socket PATH --threads T --ops N --devices D --hold-ms H [--seed S]
 *
 * T threads share D devices (ids 0..D-1). Each device has a small first-fit allocator of its own (one
 * mutex, one address range per memory type, lowest fitting address first, so a freed address is handed
 * straight out again) and one pool of live allocations that any thread may free from, so most frees
 * are done by another thread than the allocating one. The stamp is taken inside the device's mutex, the
 * record call after unlocking (the rule of allocwatch.h). N ops in all (each one alloc or one free).
 * Then it flushes, prints ONE JSON line
 *   {"pid": P, "events": E, "elapsed_ms": MS, "live": {"<device>": {"DRAM": bytes, "L1": ..., "CB": ...}}}
 * keeps that live set for H ms, closes the client and exits 0. Without a server it runs the same.
 */
#define ALLOCWATCH_IMPLEMENTATION
#include "../allocwatch.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TYPES 3
static const int TYPE_CODE[TYPES] = {ALLOCWATCH_DRAM, ALLOCWATCH_L1, ALLOCWATCH_CB};
static const char *const TYPE_NAME[TYPES] = {"DRAM", "L1", "CB"};
static const uint64_t REGION_BASE[TYPES] = {0x10000000u, 0x1000u, 0x80000u};
static const uint64_t REGION_BYTES[TYPES] = {1u << 30, 1u << 20, 1u << 19};
static const uint64_t UNIT[TYPES] = {4096, 1024, 2048}; /* sizes are 1..16 units */
#define MAX_LIVE 1024 /* per memory type and device: past it, ops free */
#define TARGET_LIVE 192

typedef struct block {
  uint64_t address, size, id;
} block;

typedef struct region {
  block live[MAX_LIVE]; /* sorted by address */
  int count;
} region;

typedef struct device {
  pthread_mutex_t lock;
  uint16_t id;
  uint64_t next_id;
  region regions[TYPES];
  _Atomic int live_total; /* read without the lock as a hint */
} device;

static allocwatch_client *client;
static device *devices;
static int device_count;

typedef struct worker {
  pthread_t thread;
  uint64_t ops;
  uint64_t rng;
  uint64_t events;
} worker;

static uint64_t next_random(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x;
}

/* First fit: the lowest address of the type's range with room for `size`; 0 when full. */
static uint64_t first_fit(region *r, int type, uint64_t size, int *at) {
  uint64_t cursor = REGION_BASE[type];
  for (int i = 0; i < r->count; i++) {
    if (r->live[i].address - cursor >= size) {
      *at = i;
      return cursor;
    }
    cursor = r->live[i].address + r->live[i].size;
  }
  if (REGION_BASE[type] + REGION_BYTES[type] - cursor >= size) {
    *at = r->count;
    return cursor;
  }
  return 0;
}

/* One alloc (1) or free (0) on device d; returns whether it did anything. */
static int do_alloc(device *d, uint64_t *rng) {
  int type = (int)(next_random(rng) % TYPES);
  uint64_t size = UNIT[type] * (1 + next_random(rng) % 16);
  int at = 0;
  pthread_mutex_lock(&d->lock);
  region *r = &d->regions[type];
  uint64_t address = r->count < MAX_LIVE ? first_fit(r, type, size, &at) : 0;
  if (address == 0) {
    pthread_mutex_unlock(&d->lock);
    return 0;
  }
  memmove(&r->live[at + 1], &r->live[at], sizeof(block) * (size_t)(r->count - at));
  uint64_t id = ++d->next_id;
  r->live[at] = (block){address, size, id};
  r->count++;
  d->live_total++;
  uint64_t seq = allocwatch_stamp(client, d->id);
  pthread_mutex_unlock(&d->lock);
  allocwatch_record_alloc(client, d->id, seq, TYPE_CODE[type], id, address, size);
  return 1;
}

static int do_free(device *d, uint64_t *rng) {
  pthread_mutex_lock(&d->lock);
  if (d->live_total == 0) {
    pthread_mutex_unlock(&d->lock);
    return 0;
  }
  int pick = (int)(next_random(rng) % (uint64_t)d->live_total);
  int type = 0;
  while (pick >= d->regions[type].count) pick -= d->regions[type].count, type++;
  region *r = &d->regions[type];
  block b = r->live[pick];
  memmove(&r->live[pick], &r->live[pick + 1], sizeof(block) * (size_t)(r->count - pick - 1));
  r->count--;
  d->live_total--;
  uint64_t seq = allocwatch_stamp(client, d->id);
  pthread_mutex_unlock(&d->lock);
  allocwatch_record_free(client, d->id, seq, TYPE_CODE[type], b.id, b.address, b.size);
  return 1;
}

static void *work(void *arg) {
  worker *w = (worker *)arg;
  for (uint64_t i = 0; i < w->ops; i++) {
    device *d = &devices[next_random(&w->rng) % (uint64_t)device_count];
    int live = d->live_total; /* a hint only: the choice is re-checked under the lock */
    int want_free = (int)(next_random(&w->rng) % (2 * TARGET_LIVE)) < live;
    int done = want_free ? do_free(d, &w->rng) : do_alloc(d, &w->rng);
    if (!done) done = want_free ? do_alloc(d, &w->rng) : do_free(d, &w->rng);
    if (done) w->events++;
  }
  return NULL;
}

static int snapshot(void *user, uint16_t device_id, allocwatch_snapshot *s) {
  (void)user;
  if (device_id >= device_count) return 1;
  device *d = &devices[device_id];
  pthread_mutex_lock(&d->lock);
  int rc = allocwatch_snapshot_begin(s, allocwatch_stamp_current(client, d->id), (uint32_t)d->live_total);
  for (int t = 0; rc == 0 && t < TYPES; t++)
    for (int i = 0; rc == 0 && i < d->regions[t].count; i++) {
      const block *b = &d->regions[t].live[i];
      rc = allocwatch_snapshot_add(s, TYPE_CODE[t], b->id, b->address, b->size);
    }
  pthread_mutex_unlock(&d->lock);
  return rc;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int usage(const char *why) {
  fprintf(stderr, "churn: %s\nusage: churn --socket PATH --threads T --ops N --devices D --hold-ms H [--seed S]\n",
          why);
  return 2;
}

int main(int argc, char **argv) {
  const char *socket_path = NULL;
  long threads = -1, devices_arg = -1, hold_ms = -1;
  long long ops = -1;
  unsigned long long seed = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) return usage("every option takes a value");
    const char *v = argv[++i];
    char *end = NULL;
    if (strcmp(a, "--socket") == 0) socket_path = v;
    else if (strcmp(a, "--threads") == 0) threads = strtol(v, &end, 10);
    else if (strcmp(a, "--ops") == 0) ops = strtoll(v, &end, 10);
    else if (strcmp(a, "--devices") == 0) devices_arg = strtol(v, &end, 10);
    else if (strcmp(a, "--hold-ms") == 0) hold_ms = strtol(v, &end, 10);
    else if (strcmp(a, "--seed") == 0) seed = strtoull(v, &end, 10);
    else return usage("unknown option");
    if (end != NULL && *end != 0) return usage("a number is malformed");
  }
  if (socket_path == NULL || threads < 1 || threads > 1024 || ops < 0 || devices_arg < 1 ||
      devices_arg > 256 || hold_ms < 0)
    return usage("--socket, --threads (1..1024), --ops, --devices (1..256) and --hold-ms are required");
  device_count = (int)devices_arg;

  devices = (device *)calloc((size_t)device_count, sizeof(device));
  allocwatch_device *described = (allocwatch_device *)calloc((size_t)device_count, sizeof(allocwatch_device));
  worker *workers = (worker *)calloc((size_t)threads, sizeof(worker));
  if (devices == NULL || described == NULL || workers == NULL) return usage("out of memory");
  for (int i = 0; i < device_count; i++) {
    pthread_mutex_init(&devices[i].lock, NULL);
    devices[i].id = (uint16_t)i;
    described[i].device_id = (uint16_t)i;
    described[i].name = "churn";
    described[i].architecture = "wormhole_b0";
    for (int t = 0; t < TYPES; t++) described[i].capacity_bytes[TYPE_CODE[t]] = REGION_BYTES[t];
  }
  allocwatch_options options;
  memset(&options, 0, sizeof options);
  options.socket_path = socket_path;
  options.process_name = "churn";
  options.devices = described;
  options.device_count = (size_t)device_count;
  options.snapshot = snapshot;
  char error[256];
  int rc = allocwatch_open(&options, &client, error, sizeof error);
  if (rc != ALLOCWATCH_OK) {
    fprintf(stderr, "churn: allocwatch_open: %s: %s\n", allocwatch_strerror(rc), error);
    return 1;
  }

  double started = now_ms();
  for (long t = 0; t < threads; t++) {
    workers[t].ops = (uint64_t)ops / (uint64_t)threads + ((uint64_t)t < (uint64_t)ops % (uint64_t)threads);
    workers[t].rng = (seed + 1) * 0x9E3779B97F4A7C15ull + (uint64_t)t * 0xBF58476D1CE4E5B9ull + 1;
    if (pthread_create(&workers[t].thread, NULL, work, &workers[t]) != 0) {
      fprintf(stderr, "churn: cannot start thread %ld\n", t);
      return 1;
    }
  }
  uint64_t events = 0;
  for (long t = 0; t < threads; t++) {
    pthread_join(workers[t].thread, NULL);
    events += workers[t].events;
  }
  double elapsed = now_ms() - started;
  allocwatch_flush(client, 10000);

  printf("{\"pid\": %d, \"events\": %" PRIu64 ", \"elapsed_ms\": %.3f, \"live\": {", (int)getpid(), events, elapsed);
  for (int i = 0; i < device_count; i++) {
    printf("%s\"%d\": {", i ? ", " : "", i);
    for (int t = 0; t < TYPES; t++) {
      uint64_t bytes = 0;
      for (int k = 0; k < devices[i].regions[t].count; k++) bytes += devices[i].regions[t].live[k].size;
      printf("%s\"%s\": %" PRIu64, t ? ", " : "", TYPE_NAME[t], bytes);
    }
    printf("}");
  }
  printf("}}\n");
  fflush(stdout);

  struct timespec hold = {hold_ms / 1000, (hold_ms % 1000) * 1000000L};
  while (nanosleep(&hold, &hold) != 0) {
  }
  allocwatch_counters counters;
  allocwatch_get_counters(client, &counters);
  fprintf(stderr,
          "churn: recorded %" PRIu64 " sent %" PRIu64 " dropped %" PRIu64 " snapshots %" PRIu64 " resyncs %" PRIu64
          " connects %" PRIu64 " disconnects %" PRIu64 "\n",
          counters.events_recorded, counters.events_sent, counters.events_dropped, counters.snapshots_sent,
          counters.resync_requests, counters.connects, counters.disconnects);
  allocwatch_close(client, 2000);
  free(workers);
  free(described);
  free(devices);
  return 0;
}
