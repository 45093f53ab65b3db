/* See recording_client.h. */
#include "recording_client.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORDING_MAX_EVENTS (1u << 22) /* a test that records more is broken: abort */

struct allocwatch_client {
  _Atomic uint64_t seq[65536];
  pthread_mutex_t mutex;
  recorded_event *events;
  size_t count;
  size_t capacity;
  allocwatch_snapshot_fn snapshot;
  void *snapshot_user;
  char *contexts[ALLOCWATCH_MAX_CONTEXTS]; /* text of id i + 1, under mutex */
  uint32_t context_count;
  uint64_t define_calls;
};

struct allocwatch_snapshot {
  int begun;
  uint64_t watermark;
  uint32_t announced;
  uint32_t added;
  recorded_event *entries;
  size_t capacity;
};

int allocwatch_open(const allocwatch_options *options, allocwatch_client **out, char *error, size_t error_bytes) {
  const char *why = NULL;
  if (options == NULL || out == NULL) why = "options and out are required";
  else if (options->snapshot == NULL) why = "options.snapshot is required";
  else if (options->device_count > 256) why = "more than 256 devices";
  for (size_t i = 0; why == NULL && i < options->device_count; ++i) {
    if (options->devices[i].device_id == 0xFFFF) why = "device id 0xFFFF";
  }
  if (why != NULL) {
    if (error != NULL && error_bytes > 0) snprintf(error, error_bytes, "%s", why);
    return ALLOCWATCH_EINVAL;
  }
  allocwatch_client *client = calloc(1, sizeof *client);
  if (client == NULL) return ALLOCWATCH_ENOMEM;
  pthread_mutex_init(&client->mutex, NULL);
  client->snapshot = options->snapshot;
  client->snapshot_user = options->snapshot_user;
  *out = client;
  return ALLOCWATCH_OK;
}

uint64_t allocwatch_stamp(allocwatch_client *client, uint16_t device_id) {
  return atomic_fetch_add(&client->seq[device_id], 1) + 1;
}

uint64_t allocwatch_stamp_current(allocwatch_client *client, uint16_t device_id) {
  return atomic_load(&client->seq[device_id]);
}

static void record(allocwatch_client *client, int op, uint16_t device_id, uint64_t seq, int memory_type,
                   uint64_t allocation_id, uint64_t address, uint64_t size_bytes, uint32_t context_id) {
  if (((allocation_id | address | size_bytes | seq) >> 53) != 0) {
    fprintf(stderr, "recording client: a value at or above 2^53, which the wire refuses\n");
    abort();
  }
  pthread_mutex_lock(&client->mutex);
  if (client->count == client->capacity) {
    size_t capacity = client->capacity == 0 ? 1024 : client->capacity * 2;
    if (capacity > RECORDING_MAX_EVENTS) abort();
    client->events = realloc(client->events, capacity * sizeof *client->events);
    if (client->events == NULL) abort();
    client->capacity = capacity;
  }
  if (context_id > client->context_count) {
    fprintf(stderr, "recording client: context %u was never defined\n", (unsigned)context_id);
    abort();
  }
  recorded_event event = {op, device_id, seq, memory_type, allocation_id, address, size_bytes, context_id};
  client->events[client->count++] = event;
  pthread_mutex_unlock(&client->mutex);
}

void allocwatch_record_alloc(allocwatch_client *client, uint16_t device_id, uint64_t seq, int memory_type,
                             uint64_t allocation_id, uint64_t address, uint64_t size_bytes) {
  record(client, RECORDED_ALLOC, device_id, seq, memory_type, allocation_id, address, size_bytes, 0);
}

void allocwatch_record_alloc_ctx(allocwatch_client *client, uint16_t device_id, uint64_t seq, int memory_type,
                                 uint64_t allocation_id, uint64_t address, uint64_t size_bytes,
                                 uint32_t context_id) {
  record(client, RECORDED_ALLOC, device_id, seq, memory_type, allocation_id, address, size_bytes, context_id);
}

void allocwatch_record_free(allocwatch_client *client, uint16_t device_id, uint64_t seq, int memory_type,
                            uint64_t allocation_id, uint64_t address, uint64_t size_bytes) {
  record(client, RECORDED_FREE, device_id, seq, memory_type, allocation_id, address, size_bytes, 0);
}

/* Well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF). */
static int utf8_ok(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    size_t extra;
    uint32_t min, code;
    if (c < 0x80) { i++; continue; }
    if ((c & 0xE0) == 0xC0) { extra = 1; min = 0x80; code = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { extra = 2; min = 0x800; code = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { extra = 3; min = 0x10000; code = c & 0x07; }
    else return 0;
    if (i + extra >= n) return 0; /* truncated sequence */
    for (size_t k = 1; k <= extra; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return 0;
      code = (code << 6) | (s[i + k] & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
    i += extra + 1;
  }
  return 1;
}

uint32_t allocwatch_define_context(allocwatch_client *client, const char *text) {
  pthread_mutex_lock(&client->mutex);
  client->define_calls++;
  uint32_t id = 0;
  size_t n = text == NULL ? 0 : strlen(text);
  if (n > 0 && n <= ALLOCWATCH_MAX_CONTEXT_BYTES && utf8_ok((const unsigned char *)text, n)) {
    for (uint32_t i = 0; i < client->context_count && id == 0; i++) {
      if (strcmp(client->contexts[i], text) == 0) id = i + 1;
    }
    if (id == 0 && client->context_count < ALLOCWATCH_MAX_CONTEXTS) {
      char *copy = malloc(n + 1);
      if (copy == NULL) abort();
      memcpy(copy, text, n + 1);
      client->contexts[client->context_count++] = copy;
      id = client->context_count;
    }
  }
  pthread_mutex_unlock(&client->mutex);
  return id;
}

uint64_t recording_define_calls(allocwatch_client *client) {
  pthread_mutex_lock(&client->mutex);
  uint64_t calls = client->define_calls;
  pthread_mutex_unlock(&client->mutex);
  return calls;
}

uint32_t recording_context_count(allocwatch_client *client) {
  pthread_mutex_lock(&client->mutex);
  uint32_t count = client->context_count;
  pthread_mutex_unlock(&client->mutex);
  return count;
}

int recording_context_text(allocwatch_client *client, uint32_t id, char *out, size_t capacity) {
  pthread_mutex_lock(&client->mutex);
  int known = id >= 1 && id <= client->context_count;
  if (known && capacity > 0) snprintf(out, capacity, "%s", client->contexts[id - 1]);
  pthread_mutex_unlock(&client->mutex);
  return known;
}

int allocwatch_snapshot_begin(allocwatch_snapshot *snapshot, uint64_t watermark_seq, uint32_t allocations) {
  if (snapshot->begun) return ALLOCWATCH_ESNAPSHOT;
  snapshot->begun = 1;
  snapshot->watermark = watermark_seq;
  snapshot->announced = allocations;
  return ALLOCWATCH_OK;
}

int allocwatch_snapshot_add(allocwatch_snapshot *snapshot, int memory_type, uint64_t allocation_id,
                            uint64_t address, uint64_t size_bytes) {
  return allocwatch_snapshot_add_ctx(snapshot, memory_type, allocation_id, address, size_bytes, 0);
}

int allocwatch_snapshot_add_ctx(allocwatch_snapshot *snapshot, int memory_type, uint64_t allocation_id,
                                uint64_t address, uint64_t size_bytes, uint32_t context_id) {
  if (!snapshot->begun || snapshot->added == snapshot->announced) return ALLOCWATCH_ESNAPSHOT;
  if (((allocation_id | address | size_bytes) >> 53) != 0) return ALLOCWATCH_EINVAL;
  if (snapshot->added < snapshot->capacity) {
    recorded_event entry = {0, 0, 0, memory_type, allocation_id, address, size_bytes, context_id};
    snapshot->entries[snapshot->added] = entry;
  }
  snapshot->added++;
  return ALLOCWATCH_OK;
}

int recording_snapshot(allocwatch_client *client, uint16_t device_id, uint64_t *watermark, uint32_t *count,
                       recorded_event *entries, size_t capacity) {
  allocwatch_snapshot snapshot = {0, 0, 0, 0, entries, capacity};
  int result = client->snapshot(client->snapshot_user, device_id, &snapshot);
  *watermark = snapshot.watermark;
  *count = snapshot.announced;
  return result;
}

size_t recording_events(allocwatch_client *client, recorded_event *out, size_t capacity) {
  pthread_mutex_lock(&client->mutex);
  size_t count = client->count;
  if (count > 0 && capacity > 0) memcpy(out, client->events, (count < capacity ? count : capacity) * sizeof *out);
  pthread_mutex_unlock(&client->mutex);
  return count;
}

int allocwatch_flush(allocwatch_client *client, uint32_t timeout_ms) {
  (void)client;
  (void)timeout_ms;
  return ALLOCWATCH_OK;
}

void allocwatch_close(allocwatch_client *client, uint32_t timeout_ms) {
  (void)timeout_ms;
  pthread_mutex_destroy(&client->mutex);
  for (uint32_t i = 0; i < client->context_count; i++) free(client->contexts[i]);
  free(client->events);
  free(client);
}

void allocwatch_get_counters(allocwatch_client *client, allocwatch_counters *out) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&client->mutex);
  out->events_recorded = client->count;
  pthread_mutex_unlock(&client->mutex);
}

const char *allocwatch_strerror(int status) {
  static const char *const names[] = {"ALLOCWATCH_OK", "ALLOCWATCH_EINVAL", "ALLOCWATCH_ENOMEM",
                                      "ALLOCWATCH_ETHREAD", "ALLOCWATCH_ETIMEDOUT", "ALLOCWATCH_ESNAPSHOT"};
  return status >= 0 && status < 6 ? names[status] : "ALLOCWATCH_UNKNOWN";
}
