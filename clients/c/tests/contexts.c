/* Allocation contexts (docs/PROTOCOL.md section 3.8), against a scripted server on a real Unix socket:
 * a definition goes out before the first event citing it, again right after HELLO on a new connection,
 * snapshot entries carry their context; a server that refuses version 3 gets version 2 (no CONTEXT, id 0);
 * bad texts get id 0, the same text the same id. */
#define ALLOCWATCH_IMPLEMENTATION
#include "../allocwatch.h"
#include "check.h"
#include "scripted-server.h"

static allocwatch_client *client;
static _Atomic uint32_t matmul_id; /* read by the snapshot callback on the writer thread */

static int snapshot(void *user, uint16_t device_id, allocwatch_snapshot *s) {
  (void)user;
  (void)device_id;
  int rc = allocwatch_snapshot_begin(s, allocwatch_stamp_current(client, 0), 2);
  if (rc == 0) rc = allocwatch_snapshot_add_ctx(s, ALLOCWATCH_DRAM, 1, 0x1000, 4096, matmul_id);
  if (rc == 0) rc = allocwatch_snapshot_add(s, ALLOCWATCH_DRAM, 2, 0x2000, 4096);
  return rc;
}

static unsigned char frame[1 << 16];

static int read_frame(int fd, uint32_t *length) { return scripted_read_frame(fd, frame, sizeof frame, length); }

/* Reads HELLO; returns its version. */
static int expect_hello(int fd) {
  uint32_t length;
  CHECK(read_frame(fd, &length) == ALLOCWATCH__T_HELLO);
  return allocwatch__get16(frame + 4 + 5);
}

/* Reads a CONTEXT frame and checks it names `id` as `text`. */
static void expect_context(int fd, uint32_t id, const char *text) {
  uint32_t length;
  CHECK(read_frame(fd, &length) == ALLOCWATCH__T_CONTEXT);
  const unsigned char *p = frame + 4;
  size_t n = strlen(text);
  CHECK(length == 7 + n && allocwatch__get32(p + 1) == id && allocwatch__get16(p + 5) == n);
  CHECK(memcmp(p + 7, text, n) == 0);
}

static allocwatch_client *open_client(const char *path) {
  static allocwatch_device device;
  memset(&device, 0, sizeof device);
  device.name = "n150";
  device.architecture = "wormhole_b0";
  allocwatch_options o;
  memset(&o, 0, sizeof o);
  o.socket_path = path;
  o.process_name = "contexts";
  o.devices = &device;
  o.device_count = 1;
  o.snapshot = snapshot;
  o.flush_interval_ms = 1;
  o.reconnect_initial_ms = 10;
  o.reconnect_max_ms = 40;
  char error[200];
  allocwatch_client *c = NULL;
  CHECK(allocwatch_open(&o, &c, error, sizeof error) == ALLOCWATCH_OK);
  return c;
}

static void alloc_in(uint32_t context, uint64_t id) {
  uint64_t seq = allocwatch_stamp(client, 0);
  allocwatch_record_alloc_ctx(client, 0, seq, ALLOCWATCH_DRAM, id, 0x1000 * id, 4096, context);
}

int main(void) {
  char dir[] = "/tmp/aw-ctx-XXXXXX";
  char path[64];
  int listener = check_listen_temp(dir, path, sizeof path);
  uint32_t length;

  /* Version 3: definitions before use, again after HELLO on a new connection; snapshots carry them. */
  client = open_client(path);
  int fd = scripted_accept(listener);
  CHECK(expect_hello(fd) == 3);
  scripted_send_hex(fd, "0b000000 02 41574348 0300 00040000");
  matmul_id = allocwatch_define_context(client, "ttnn.matmul");
  CHECK(matmul_id == 1);
  CHECK(allocwatch_define_context(client, "ttnn.matmul") == 1);
  CHECK(allocwatch_define_context(client, NULL) == 0);
  CHECK(allocwatch_define_context(client, "") == 0);
  CHECK(allocwatch_define_context(client, "\xc3\x28") == 0);
  char long_text[ALLOCWATCH_MAX_CONTEXT_BYTES + 2];
  memset(long_text, 'x', sizeof long_text - 1);
  long_text[sizeof long_text - 1] = 0;
  CHECK(allocwatch_define_context(client, long_text) == 0);
  alloc_in(matmul_id, 1);
  alloc_in(0, 2);
  alloc_in(77, 3); /* never defined: sent as none */
  CHECK(allocwatch_flush(client, 5000) == ALLOCWATCH_OK);
  expect_context(fd, 1, "ttnn.matmul");
  CHECK(read_frame(fd, &length) == ALLOCWATCH__T_EVENTS);
  CHECK(allocwatch__get32(frame + 5) == 3);
  CHECK(allocwatch__get32(frame + 9 + 4) == 1);
  CHECK(allocwatch__get32(frame + 9 + 48 + 4) == 0);
  CHECK(allocwatch__get32(frame + 9 + 96 + 4) == 0);
  /* A new context defined later goes out before the event that cites it. */
  uint32_t conv = allocwatch_define_context(client, "ttnn.conv2d");
  CHECK(conv == 2);
  alloc_in(conv, 4);
  CHECK(allocwatch_flush(client, 5000) == ALLOCWATCH_OK);
  expect_context(fd, 2, "ttnn.conv2d");
  CHECK(read_frame(fd, &length) == ALLOCWATCH__T_EVENTS);
  CHECK(allocwatch__get32(frame + 9 + 4) == 2);
  /* Reconnect: HELLO, every definition, then the snapshot with its entries' contexts. */
  close(fd);
  fd = scripted_accept(listener);
  CHECK(expect_hello(fd) == 3);
  expect_context(fd, 1, "ttnn.matmul");
  expect_context(fd, 2, "ttnn.conv2d");
  scripted_send_hex(fd, "0b000000 02 41574348 0300 00040000");
  CHECK(read_frame(fd, &length) == ALLOCWATCH__T_SNAP_BEGIN);
  CHECK(read_frame(fd, &length) == ALLOCWATCH__T_SNAP_CHUNK);
  CHECK(allocwatch__get32(frame + 7) == 2);
  CHECK(allocwatch__get32(frame + 11 + 4) == 1);
  CHECK(allocwatch__get32(frame + 11 + 32 + 4) == 0);
  CHECK(read_frame(fd, &length) == ALLOCWATCH__T_SNAP_END);
  allocwatch_close(client, 2000);
  close(fd);

  /* An older server refuses version 3: the client says version 2 at once, and cites no context. */
  client = open_client(path);
  fd = scripted_accept(listener);
  CHECK(expect_hello(fd) == 3);
  /* ERROR "PROTO_UNSUPPORTED_VERSION" "v" */
  scripted_send_hex(fd, "1f000000 08 1900 50524f544f5f554e535550504f525445445f56455253494f4e 0100 76");
  close(fd);
  fd = scripted_accept(listener);
  CHECK(expect_hello(fd) == 2);
  scripted_send_hex(fd, "0b000000 02 41574348 0200 00040000");
  matmul_id = allocwatch_define_context(client, "ttnn.matmul");
  CHECK(matmul_id == 1); /* defined all the same: a later server may speak version 3 */
  /* The initial snapshot after the reconnect (version 2: no contexts in its entries). */
  CHECK(read_frame(fd, &length) == ALLOCWATCH__T_SNAP_BEGIN);
  CHECK(read_frame(fd, &length) == ALLOCWATCH__T_SNAP_CHUNK);
  CHECK(allocwatch__get32(frame + 11 + 4) == 0);
  CHECK(read_frame(fd, &length) == ALLOCWATCH__T_SNAP_END);
  alloc_in(matmul_id, 5);
  CHECK(allocwatch_flush(client, 5000) == ALLOCWATCH_OK);
  CHECK(read_frame(fd, &length) == ALLOCWATCH__T_EVENTS); /* no CONTEXT frame before it */
  CHECK(allocwatch__get32(frame + 9 + 4) == 0);
  allocwatch_close(client, 2000);
  CHECK(read_frame(fd, &length) == ALLOCWATCH__T_GOODBYE);
  close(fd);
  close(listener);
  unlink(path);
  rmdir(dir);
  return check_exit("contexts");
}
