/* A recording implementation of the C client's API (clients/c/allocwatch.h), for the adapter's unit tests
 * only: stamps are the same per-device atomic counters, record calls append to an in-memory stream the
 * test reads back, and the test asks for snapshots itself. It sends nothing. The real client is tested in
 * clients/c and end to end in test/clients/cpp-adapter.test.ts. */
#ifndef RECORDING_CLIENT_H
#define RECORDING_CLIENT_H

#include "../../c/allocwatch.h"

#ifdef __cplusplus
extern "C" {
#endif

enum recorded_op { RECORDED_ALLOC = 1, RECORDED_FREE = 2 };

typedef struct recorded_event {
  int op;
  uint16_t device_id;
  uint64_t seq;
  int memory_type;
  uint64_t allocation_id;
  uint64_t address;
  uint64_t size_bytes;
  uint32_t context_id; /* ALLOC: what allocwatch_record_alloc_ctx / allocwatch_snapshot_add_ctx passed; else 0 */
} recorded_event;

/* Copies up to `capacity` recorded events (in call order) into `out`; returns how many were recorded. */
size_t recording_events(allocwatch_client *client, recorded_event *out, size_t capacity);

/* Runs the snapshot callback for `device_id`: returns its result; fills the watermark and entries
 * (memory_type, allocation_id, address, size_bytes; op and seq 0) up to `capacity`; *count = announced. */
int recording_snapshot(allocwatch_client *client, uint16_t device_id, uint64_t *watermark, uint32_t *count,
                       recorded_event *entries, size_t capacity);

/* Contexts are defined as the C client does (allocwatch.h): the same text gives the same id, 0 for NULL,
 * empty, over ALLOCWATCH_MAX_CONTEXT_BYTES, not UTF-8, or ALLOCWATCH_MAX_CONTEXTS defined. */
/* How many times allocwatch_define_context was called (refusals included). */
uint64_t recording_define_calls(allocwatch_client *client);
/* How many contexts are defined. */
uint32_t recording_context_count(allocwatch_client *client);
/* The text of context `id` copied into `out` (at most `capacity` bytes with the NUL); 0 if unknown, else 1. */
int recording_context_text(allocwatch_client *client, uint32_t id, char *out, size_t capacity);

#ifdef __cplusplus
}
#endif

#endif
