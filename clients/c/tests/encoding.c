/* Byte-exact encoding against docs/PROTOCOL.md section 8 and test/protocol/golden-frames.txt: HELLO,
 * EVENTS, the snapshot frames (taken through the snapshot API, as the writer does), GOODBYE; the snapshot
 * API's misuse errors; UTF-8 validation; /proc/self/stat field 22. */
#define ALLOCWATCH_IMPLEMENTATION
#include "../allocwatch.h"
#include "check.h"

static void test_hello(void) {
  unsigned char want[512], got[512];
  size_t want_n = golden_hex("hello", want, sizeof want);
  CHECK(want_n == 143);
  allocwatch__device d;
  memset(&d, 0, sizeof d);
  d.device_id = 0;
  d.name = (char *)"n150";
  d.architecture = (char *)"wormhole_b0";
  d.capacity_bytes[ALLOCWATCH_DRAM] = 12884901888ull;
  d.capacity_bytes[ALLOCWATCH_L1] = 1499136;
  d.capacity_bytes[ALLOCWATCH_L1_SMALL] = 65536;
  unsigned char session[16], secret[16];
  check_hex("00112233445566778899aabbccddeeff", session, 16);
  check_hex("0f1e2d3c4b5a69788796a5b4c3d2e1f0", secret, 16);
  CHECK(allocwatch__hello_bytes("python3", &d, 1) == 143);
  size_t n = allocwatch__encode_hello(got, session, secret, 1234, 5678, "python3", &d, 1);
  /* The golden HELLO is version 2; the client says 3 (same layout) and falls back to 2 when refused. */
  CHECK(allocwatch__get16(want + 9) == 2 && allocwatch__get16(got + 9) == 3);
  got[9] = 2;
  check_bytes("HELLO", got, n, want, want_n);
}

static void test_events(void) {
  unsigned char want[256], got[256];
  size_t want_n = golden_hex("events", want, sizeof want);
  CHECK(want_n == 105);
  size_t n = allocwatch__encode_events_header(got, 2);
  allocwatch__encode_record(got + n, ALLOCWATCH__OP_ALLOC, ALLOCWATCH_DRAM, 0, 1, 1, 0x1000, 4096, 123, 0);
  allocwatch__encode_record(got + n + 48, ALLOCWATCH__OP_FREE, ALLOCWATCH_DRAM, 0, 2, 1, 0x1000, 4096, 456, 0);
  check_bytes("EVENTS", got, n + 96, want, want_n);
  /* Version 3 (docs/PROTOCOL.md section 8): CONTEXT 1 "ttnn.matmul", then the ALLOC citing it. */
  unsigned char want_v3[256], got_v3[256];
  size_t want_v3_n = golden_hex("context", want_v3, sizeof want_v3);
  want_v3_n += golden_hex("events-v3", want_v3 + want_v3_n, sizeof want_v3 - want_v3_n);
  CHECK(want_v3_n == 22 + 105);
  size_t m = allocwatch__encode_context(got_v3, 1, "ttnn.matmul", 11);
  m += allocwatch__encode_events_header(got_v3 + m, 2);
  allocwatch__encode_record(got_v3 + m, ALLOCWATCH__OP_ALLOC, ALLOCWATCH_DRAM, 0, 1, 1, 0x1000, 4096, 123, 1);
  allocwatch__encode_record(got_v3 + m + 48, ALLOCWATCH__OP_FREE, ALLOCWATCH_DRAM, 0, 2, 1, 0x1000, 4096, 456, 0);
  check_bytes("CONTEXT + EVENTS (version 3)", got_v3, m + 96, want_v3, want_v3_n);
  unsigned char goodbye[8], want_goodbye[8];
  golden_hex("goodbye", want_goodbye, 8);
  check_bytes("GOODBYE", goodbye, allocwatch__encode_goodbye(goodbye), want_goodbye, 5);
}

/* A client with only what the snapshot path uses (no writer thread, no socket). */
typedef struct fake {
  allocwatch_client client;
  allocwatch__device device;
  uint16_t index[65536];
} fake;

static int mode; /* what the callback does */
static uint32_t live_count;

static int callback(void *user, uint16_t device_id, allocwatch_snapshot *s) {
  (void)user;
  CHECK(device_id == 3);
  if (mode == 0) { /* the golden vector */
    CHECK(allocwatch_snapshot_begin(s, 9, 1) == ALLOCWATCH_OK);
    CHECK(allocwatch_snapshot_add(s, ALLOCWATCH_L1, 7, 0x200000, 1024) == ALLOCWATCH_OK);
    return 0;
  }
  if (mode == 1) { /* many records: several chunks */
    CHECK(allocwatch_snapshot_begin(s, 41, live_count) == ALLOCWATCH_OK);
    for (uint32_t i = 0; i < live_count; i++)
      CHECK(allocwatch_snapshot_add(s, ALLOCWATCH_DRAM, i + 1, 4096ull * i, 4096) == ALLOCWATCH_OK);
    return 0;
  }
  if (mode == 2) return 1; /* the program cannot take it now */
  if (mode == 3) { /* fewer records than announced */
    CHECK(allocwatch_snapshot_begin(s, 5, 2) == ALLOCWATCH_OK);
    CHECK(allocwatch_snapshot_add(s, ALLOCWATCH_DRAM, 1, 0, 10) == ALLOCWATCH_OK);
    return 0;
  }
  if (mode == 4) { /* add before begin; a value the wire cannot carry */
    CHECK(allocwatch_snapshot_add(s, ALLOCWATCH_DRAM, 1, 0, 10) == ALLOCWATCH_ESNAPSHOT);
    return 0;
  }
  if (mode == 5) { /* a memory type or value the wire cannot carry */
    CHECK(allocwatch_snapshot_begin(s, 5, 2) == ALLOCWATCH_OK);
    CHECK(allocwatch_snapshot_add(s, 9, 1, 0, 10) == ALLOCWATCH_EINVAL);
    CHECK(allocwatch_snapshot_add(s, ALLOCWATCH_DRAM, 1ull << 53, 0, 10) == ALLOCWATCH_EINVAL);
    return 0;
  }
  if (mode == 6) { /* more records than announced */
    CHECK(allocwatch_snapshot_begin(s, 5, 1) == ALLOCWATCH_OK);
    CHECK(allocwatch_snapshot_add(s, ALLOCWATCH_DRAM, 1, 0, 10) == ALLOCWATCH_OK);
    CHECK(allocwatch_snapshot_add(s, ALLOCWATCH_DRAM, 2, 16, 10) == ALLOCWATCH_ESNAPSHOT);
    return 0;
  }
  /* begun twice; a watermark the wire cannot carry */
  CHECK(allocwatch_snapshot_begin(s, 1ull << 53, 0) == ALLOCWATCH_EINVAL);
  CHECK(allocwatch_snapshot_begin(s, 5, 0) == ALLOCWATCH_OK);
  CHECK(allocwatch_snapshot_begin(s, 5, 0) == ALLOCWATCH_ESNAPSHOT);
  return 0;
}

static void setup(fake *f, uint32_t max_frame) {
  memset(f, 0, sizeof *f);
  f->device.device_id = 3;
  f->client.devices = &f->device;
  f->client.device_count = 1;
  f->client.index = f->index;
  f->index[3] = 1;
  f->client.snapshot_fn = callback;
  f->client.max_frame = max_frame;
  f->client.reconnect_max_ms = 2000;
  clock_gettime(CLOCK_MONOTONIC, &f->client.started);
}

static void test_snapshot_frames(void) {
  static fake f;
  unsigned char want[256];
  size_t want_n = golden_hex("snapshot", want, sizeof want);
  setup(&f, ALLOCWATCH__DEFAULT_MAX_FRAME);
  mode = 0;
  atomic_store(&f.device.gated, 1);
  CHECK(allocwatch__take_snapshot(&f.client, &f.device) == 1);
  check_bytes("SNAPSHOT", f.client.out, f.client.out_len, want, want_n);
  CHECK(atomic_load(&f.device.gated) == 0);
  CHECK(f.device.watermark == 9);
  free(f.client.out);

  /* 1024-byte frames hold (1024 - 7) / 32 = 31 records per chunk: 100 records = 31 + 31 + 31 + 7. */
  setup(&f, 1024);
  mode = 1;
  live_count = 100;
  CHECK(allocwatch__take_snapshot(&f.client, &f.device) == 1);
  const unsigned char *p = f.client.out;
  CHECK(allocwatch__get32(p) == 15 && p[4] == ALLOCWATCH__T_SNAP_BEGIN && allocwatch__get32(p + 15) == 100);
  p += 19;
  uint32_t counts[4] = {31, 31, 31, 7}, id = 1;
  for (int c = 0; c < 4; c++) {
    CHECK(p[4] == ALLOCWATCH__T_SNAP_CHUNK && allocwatch__get32(p + 7) == counts[c]);
    CHECK(allocwatch__get32(p) == 7 + 32 * counts[c] && allocwatch__get32(p) <= 1024);
    for (uint32_t k = 0; k < counts[c]; k++, id++) CHECK(allocwatch__get64(p + 11 + 32 * k + 8) == id);
    p += 4 + allocwatch__get32(p);
  }
  CHECK(p[4] == ALLOCWATCH__T_SNAP_END && allocwatch__get64(p + 7) == 41);
  CHECK((size_t)(p + 15 - f.client.out) == f.client.out_len);
  free(f.client.out);

  /* Failures leave nothing in the buffer and the device gated for a later retry. */
  for (mode = 2; mode <= 7; mode++) {
    setup(&f, ALLOCWATCH__DEFAULT_MAX_FRAME);
    CHECK(allocwatch__take_snapshot(&f.client, &f.device) == 0);
    CHECK(f.client.out_len == 0);
    CHECK(atomic_load(&f.device.gated) == 1);
    CHECK(f.device.retry_at_ms > 0);
    CHECK(f.client.out_snapshots == 0);
    free(f.client.out);
  }
}

static void test_utf8(void) {
  CHECK(allocwatch__utf8_ok((const unsigned char *)"wormhole_b0", 11));
  CHECK(allocwatch__utf8_ok((const unsigned char *)"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
  CHECK(!allocwatch__utf8_ok((const unsigned char *)"\xc0\xaf", 2));         /* overlong */
  CHECK(!allocwatch__utf8_ok((const unsigned char *)"\xed\xa0\x80", 3));     /* surrogate */
  CHECK(!allocwatch__utf8_ok((const unsigned char *)"\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
  CHECK(!allocwatch__utf8_ok((const unsigned char *)"\xe2\x82", 2));         /* truncated */
}

static void test_start_ticks(void) {
  /* Field 22 counted by hand from the text after the last ')'. */
  char buf[1024];
  FILE *f = fopen("/proc/self/stat", "r");
  CHECK(f != NULL);
  if (f == NULL) return;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')') + 2;
  for (int field = 3; field < 22; field++) p = strchr(p, ' ') + 1;
  CHECK(allocwatch__start_ticks() == strtoull(p, NULL, 10));
  CHECK(allocwatch__start_ticks() > 0);
}

static void test_open_errors(void) {
  allocwatch_device d;
  memset(&d, 0, sizeof d);
  d.name = "n150";
  d.architecture = "wormhole_b0";
  allocwatch_options o;
  memset(&o, 0, sizeof o);
  o.socket_path = "/nonexistent/s.sock";
  o.devices = &d;
  o.device_count = 1;
  allocwatch_client *c = NULL;
  char error[200];
  CHECK(allocwatch_open(&o, &c, error, sizeof error) == ALLOCWATCH_EINVAL && strstr(error, "snapshot") && c == NULL);
  o.snapshot = callback;
  o.queue_events = 1000;
  CHECK(allocwatch_open(&o, &c, error, sizeof error) == ALLOCWATCH_EINVAL && strstr(error, "power of two"));
  o.queue_events = 0;
  d.device_id = 0xFFFF;
  CHECK(allocwatch_open(&o, &c, error, sizeof error) == ALLOCWATCH_EINVAL && strstr(error, "0xFFFF"));
  d.device_id = 1;
  d.architecture = "\xff";
  CHECK(allocwatch_open(&o, &c, error, sizeof error) == ALLOCWATCH_EINVAL && strstr(error, "UTF-8"));
  d.architecture = "wormhole_b0";
  allocwatch_device two[2] = {d, d};
  o.devices = two;
  o.device_count = 2;
  CHECK(allocwatch_open(&o, &c, error, sizeof error) == ALLOCWATCH_EINVAL && strstr(error, "twice"));
  o.devices = &d;
  o.device_count = 1;
  o.process_name = "a name far too long ........................................................................"
                   "..........................................................................................."
                   "...........................................................................................";
  CHECK(allocwatch_open(&o, &c, error, sizeof error) == ALLOCWATCH_EINVAL && strstr(error, "limit"));
  o.process_name = NULL;
  o.socket_path = "/tmp/................................................................................"
                  ".....................................................long";
  CHECK(allocwatch_open(&o, &c, error, sizeof error) == ALLOCWATCH_EINVAL && strstr(error, "107"));
  CHECK(strcmp(allocwatch_strerror(ALLOCWATCH_ETIMEDOUT), "ALLOCWATCH_ETIMEDOUT") == 0);
}

int main(void) {
  test_hello();
  test_events();
  test_snapshot_frames();
  test_utf8();
  test_start_ticks();
  test_open_errors();
  return check_exit("encoding");
}
