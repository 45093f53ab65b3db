/* The client's side of a whole conversation with a scripted server (this test plays the server on a real
 * Unix socket): HELLO fields, WELCOME with a small frame limit, EVENTS within it, RESYNC_REQUEST answered
 * by a snapshot, ERROR + close answered by a reconnect with the same session id and resume secret and a
 * snapshot of every device, EOF the same, GOODBYE on close. SIGPIPE is left at its default: a send
 * without MSG_NOSIGNAL on a closed connection would kill the test. */
#define ALLOCWATCH_IMPLEMENTATION
#include "../allocwatch.h"
#include "check.h"
#include "scripted-server.h"

#include <stdlib.h>

#define LIVE 100

static allocwatch_client *client;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t live_ids[LIVE];
static int live_count;

static int snapshot(void *user, uint16_t device_id, allocwatch_snapshot *s) {
  (void)user;
  pthread_mutex_lock(&lock);
  int n = device_id == 0 ? live_count : 0;
  int rc = allocwatch_snapshot_begin(s, allocwatch_stamp_current(client, device_id), (uint32_t)n);
  for (int i = 0; rc == 0 && i < n; i++)
    rc = allocwatch_snapshot_add(s, ALLOCWATCH_L1, live_ids[i], 0x1000 * live_ids[i], 64);
  pthread_mutex_unlock(&lock);
  return rc;
}

static unsigned char frame[1 << 20];

/* The counters a little after the bytes arrived: the writer counts once send() has returned. */
static int counters_reach(uint64_t resyncs, uint64_t snapshots, uint64_t connects) {
  allocwatch_counters c;
  for (int i = 0; i < 500; i++) {
    allocwatch_get_counters(client, &c);
    if (c.resync_requests >= resyncs && c.snapshots_sent >= snapshots && c.connects >= connects) return 1;
    struct timespec pause = {0, 10 * 1000000L};
    nanosleep(&pause, NULL);
  }
  return 0;
}

/* Reads one frame (length field included) into `frame`; returns its type, or -1 on EOF or 5 s of nothing. */
static int read_frame(int fd, uint32_t *length) { return scripted_read_frame(fd, frame, sizeof frame, length); }

/* Reads a HELLO and checks it; copies its session id and secret. */
static void expect_hello(int fd, unsigned char session[32]) {
  uint32_t length;
  CHECK(read_frame(fd, &length) == ALLOCWATCH__T_HELLO);
  const unsigned char *p = frame + 4;
  CHECK(allocwatch__get32(p + 1) == ALLOCWATCH__MAGIC);
  CHECK(allocwatch__get16(p + 5) == 3);
  memcpy(session, p + 7, 32);
  CHECK(allocwatch__get32(p + 39) == (uint32_t)getpid());
  CHECK(allocwatch__get64(p + 43) == allocwatch__start_ticks());
  CHECK(allocwatch__get16(p + 51) == 4 && memcmp(p + 53, "conv", 4) == 0);
  CHECK(allocwatch__get16(p + 57) == 2); /* devices */
}

/* Reads frames until both devices' snapshots are complete; checks device 0's live set. */
static void expect_snapshots(int fd, int devices, uint64_t watermark0) {
  int ended = 0, records0 = 0;
  while (ended < devices) {
    uint32_t length;
    int type = read_frame(fd, &length);
    CHECK(type > 0);
    if (type < 0) return;
    CHECK(length <= 1024);
    const unsigned char *p = frame + 4;
    if (type == ALLOCWATCH__T_SNAP_BEGIN && allocwatch__get16(p + 1) == 0) {
      CHECK(allocwatch__get64(p + 3) == watermark0);
      CHECK(allocwatch__get32(p + 11) == LIVE);
    }
    if (type == ALLOCWATCH__T_SNAP_CHUNK && allocwatch__get16(p + 1) == 0) records0 += (int)allocwatch__get32(p + 3);
    if (type == ALLOCWATCH__T_SNAP_END) ended++;
  }
  if (devices == 2) CHECK(records0 == LIVE);
}

int main(void) {
  char dir[] = "/tmp/aw-conv-XXXXXX";
  char path[64];
  int listener = check_listen_temp(dir, path, sizeof path);

  allocwatch_device devices[2];
  memset(devices, 0, sizeof devices);
  devices[0].name = "n150";
  devices[0].architecture = "wormhole_b0";
  devices[1] = devices[0];
  devices[1].device_id = 1;
  allocwatch_options o;
  memset(&o, 0, sizeof o);
  o.socket_path = path;
  o.process_name = "conv";
  o.devices = devices;
  o.device_count = 2;
  o.snapshot = snapshot;
  o.flush_interval_ms = 1;
  o.reconnect_initial_ms = 10;
  o.reconnect_max_ms = 40;
  char error[200];
  CHECK(allocwatch_open(&o, &client, error, sizeof error) == ALLOCWATCH_OK);

  int fd = scripted_accept(listener);
  unsigned char session[32], again[32];
  expect_hello(fd, session);
  scripted_send_hex(fd, "0b000000 02 41574348 0300 00040000"); /* WELCOME, max frame 1024 */

  for (int i = 0; i < LIVE; i++) {
    pthread_mutex_lock(&lock);
    live_ids[live_count++] = (uint64_t)i + 1;
    uint64_t seq = allocwatch_stamp(client, 0);
    pthread_mutex_unlock(&lock);
    allocwatch_record_alloc(client, 0, seq, ALLOCWATCH_L1, (uint64_t)i + 1, 0x1000 * ((uint64_t)i + 1), 64);
  }
  CHECK(allocwatch_flush(client, 5000) == ALLOCWATCH_OK);
  uint64_t next = 1;
  while (next <= LIVE) {
    uint32_t length;
    int type = read_frame(fd, &length);
    CHECK(type == ALLOCWATCH__T_EVENTS);
    if (type != ALLOCWATCH__T_EVENTS) break;
    CHECK(length <= 1024);
    uint32_t count = allocwatch__get32(frame + 5);
    CHECK(length == 5 + 48 * count);
    for (uint32_t k = 0; k < count; k++, next++) {
      const unsigned char *r = frame + 9 + 48 * k;
      CHECK(r[0] == 1 && r[1] == ALLOCWATCH_L1 && allocwatch__get16(r + 2) == 0);
      CHECK(allocwatch__get64(r + 8) == next && allocwatch__get64(r + 16) == next);
    }
  }
  allocwatch_counters counters;
  CHECK(counters_reach(0, 0, 1));
  allocwatch_get_counters(client, &counters);
  CHECK(counters.events_sent == LIVE && counters.events_dropped == 0);

  /* RESYNC_REQUEST for device 1 ("gap"): answered by its (empty) snapshot. */
  scripted_send_hex(fd, "08000000 07 0100 0300 676170");
  expect_snapshots(fd, 1, 0);
  CHECK(counters_reach(1, 1, 1));

  /* ERROR, then close: the client reconnects with the same session id and secret, resends every device. */
  scripted_send_hex(fd, "0a000000 08 0300 4f4f4d 0200 6869");
  close(fd);
  fd = scripted_accept(listener);
  expect_hello(fd, again);
  CHECK(memcmp(session, again, 32) == 0);
  scripted_send_hex(fd, "0b000000 02 41574348 0300 00040000");
  expect_snapshots(fd, 2, LIVE);

  /* EOF without a word: the same. */
  close(fd);
  fd = scripted_accept(listener);
  expect_hello(fd, again);
  CHECK(memcmp(session, again, 32) == 0);
  scripted_send_hex(fd, "0b000000 02 41574348 0300 00040000");
  expect_snapshots(fd, 2, LIVE);
  CHECK(counters_reach(1, 5, 3));
  allocwatch_get_counters(client, &counters);
  CHECK(counters.connects == 3 && counters.disconnects == 2);

  /* A server frame a client never expects (EVENTS): the client drops the connection and reconnects. */
  scripted_send_hex(fd, "05000000 03 00000000");
  uint32_t length;
  CHECK(read_frame(fd, &length) == -1);
  close(fd);
  fd = scripted_accept(listener);
  expect_hello(fd, again);
  scripted_send_hex(fd, "0b000000 02 41574348 0300 00040000");
  expect_snapshots(fd, 2, LIVE);

  /* close: GOODBYE, then the end of the stream. */
  allocwatch_close(client, 2000);
  CHECK(read_frame(fd, &length) == ALLOCWATCH__T_GOODBYE && length == 1);
  CHECK(read_frame(fd, &length) == -1);
  close(fd);
  close(listener);
  unlink(path);
  rmdir(dir);
  return check_exit("conversation");
}
