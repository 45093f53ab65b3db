/* The record path under pressure: a server that accepts but never answers (the writer cannot drain), a
 * small queue, many threads recording: every call returns at once, what does not fit is dropped and
 * counted, and the device is gated for a snapshot. Stamps from many threads are unique and dense. */
#define ALLOCWATCH_IMPLEMENTATION
#include "../allocwatch.h"
#include "check.h"

#include <stdlib.h>

#define THREADS 8
#define PER_THREAD 20000

static allocwatch_client *client;
static int snapshot(void *user, uint16_t device_id, allocwatch_snapshot *s) {
  (void)user;
  return allocwatch_snapshot_begin(s, allocwatch_stamp_current(client, device_id), 0);
}

static uint64_t *seqs;
static double worst_call_ns[THREADS];

static double mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *stamper(void *arg) {
  size_t t = (size_t)arg;
  for (size_t i = 0; i < PER_THREAD; i++) seqs[t * PER_THREAD + i] = allocwatch_stamp(client, 7);
  return NULL;
}

static void *recorder(void *arg) {
  size_t t = (size_t)arg;
  double worst = 0;
  for (uint64_t i = 0; i < PER_THREAD; i++) {
    uint64_t seq = allocwatch_stamp(client, 7);
    double started = mono_ns();
    allocwatch_record_alloc(client, 7, seq, ALLOCWATCH_DRAM, seq, 4096 * seq, 4096);
    double spent = mono_ns() - started;
    if (spent > worst) worst = spent;
  }
  worst_call_ns[t] = worst;
  return NULL;
}

static int compare(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int main(void) {
  /* A listening socket nobody accepts from: connect succeeds (backlog), WELCOME never comes. */
  char dir[] = "/tmp/aw-queue-XXXXXX";
  char path[64];
  int listener = check_listen_temp(dir, path, sizeof path);

  allocwatch_device devices[2];
  memset(devices, 0, sizeof devices);
  devices[0].device_id = 7;
  devices[0].name = "a";
  devices[0].architecture = "x";
  devices[1].device_id = 40000;
  devices[1].name = "b";
  devices[1].architecture = "x";
  allocwatch_options o;
  memset(&o, 0, sizeof o);
  o.socket_path = path;
  o.devices = devices;
  o.device_count = 2;
  o.snapshot = snapshot;
  o.queue_events = 1024;
  char error[200];
  CHECK(allocwatch_open(&o, &client, error, sizeof error) == ALLOCWATCH_OK);

  /* Unique dense stamps from many threads; unknown devices get 0. */
  seqs = (uint64_t *)calloc(THREADS * PER_THREAD, sizeof(uint64_t));
  pthread_t threads[THREADS];
  for (size_t t = 0; t < THREADS; t++) pthread_create(&threads[t], NULL, stamper, (void *)t);
  for (size_t t = 0; t < THREADS; t++) pthread_join(threads[t], NULL);
  qsort(seqs, THREADS * PER_THREAD, sizeof(uint64_t), compare);
  int dense = 1;
  for (size_t i = 0; i < THREADS * PER_THREAD; i++) dense &= seqs[i] == i + 1;
  CHECK(dense);
  CHECK(allocwatch_stamp_current(client, 7) == THREADS * PER_THREAD);
  CHECK(allocwatch_stamp_current(client, 40000) == 0);
  CHECK(allocwatch_stamp(client, 40000) == 1);
  CHECK(allocwatch_stamp(client, 3) == 0);
  CHECK(allocwatch_stamp_current(client, 3) == 0);

  /* The queue fills (nothing drains it before WELCOME): drops are counted, calls never wait. */
  double started = mono_ns();
  for (size_t t = 0; t < THREADS; t++) pthread_create(&threads[t], NULL, recorder, (void *)t);
  for (size_t t = 0; t < THREADS; t++) pthread_join(threads[t], NULL);
  double spent_ms = (mono_ns() - started) / 1e6;
  allocwatch_counters counters;
  allocwatch_get_counters(client, &counters);
  CHECK(counters.events_recorded == THREADS * PER_THREAD);
  CHECK(counters.events_dropped >= THREADS * PER_THREAD - 1024);
  CHECK(counters.events_sent == 0);
  CHECK(counters.connects == 0);
  CHECK(atomic_load(&client->devices[0].gated) == 1);
  CHECK(atomic_load(&client->devices[1].gated) == 0);
  CHECK(atomic_load(&client->tail) == 1024);
  /* Generous: 160,000 calls, a blocked call would take the 5 s handshake timeout. */
  CHECK(spent_ms < 3000);
  printf("queue: %d record calls in %.1f ms, %llu dropped\n", THREADS * PER_THREAD, spent_ms,
         (unsigned long long)counters.events_dropped);
  for (size_t t = 0; t < THREADS; t++) CHECK(worst_call_ns[t] < 1e9);

  /* Invalid records are dropped and counted too (and heal by snapshot): bad type, seq 0, unknown device,
   * a value at or above 2^53. */
  uint64_t before = counters.events_dropped;
  allocwatch_record_alloc(client, 40000, 1, 9, 1, 0, 10);
  allocwatch_record_alloc(client, 40000, 0, ALLOCWATCH_DRAM, 1, 0, 10);
  allocwatch_record_free(client, 5, 1, ALLOCWATCH_DRAM, 1, 0, 10);
  allocwatch_record_free(client, 40000, 2, ALLOCWATCH_DRAM, 1ull << 53, 0, 10);
  allocwatch_get_counters(client, &counters);
  CHECK(counters.events_dropped == before + 4);
  CHECK(atomic_load(&client->devices[1].gated) == 1);

  /* No WELCOME: flush gives up at its deadline. */
  CHECK(allocwatch_flush(client, 50) == ALLOCWATCH_ETIMEDOUT);
  allocwatch_close(client, 100);
  close(listener);
  unlink(path);
  rmdir(dir);
  free(seqs);
  return check_exit("queue");
}
