/* The server's side of a scripted conversation on a real Unix socket, for the tests that play the server:
 * accept the client, read its frames, send hex-written frames. Include after "../allocwatch.h" (with
 * ALLOCWATCH_IMPLEMENTATION, for the frame readers) and "check.h". */
#ifndef ALLOCWATCH_SCRIPTED_SERVER_H
#define ALLOCWATCH_SCRIPTED_SERVER_H
#include <poll.h>

/* Reads one frame (length field included) into `frame` (`cap` bytes); returns its type, or -1 on EOF, on
 * 5 s of nothing or on a frame longer than `cap`. */
static inline int scripted_read_frame(int fd, unsigned char *frame, size_t cap, uint32_t *length) {
  size_t have = 0, need = 4;
  while (have < need) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) return -1;
    ssize_t n = recv(fd, frame + have, need - have, 0);
    if (n <= 0) return -1;
    have += (size_t)n;
    if (have == 4 && need == 4) {
      need = 4 + allocwatch__get32(frame);
      if (need > cap) return -1;
    }
  }
  *length = allocwatch__get32(frame);
  return frame[4];
}

/* Sends the frame written as hex text (check_hex's format). */
static inline void scripted_send_hex(int fd, const char *hex) {
  unsigned char buf[256];
  size_t n = check_hex(hex, buf, sizeof buf);
  CHECK(send(fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n);
}

/* Accepts the client's next connection (5 s at most). */
static inline int scripted_accept(int listener) {
  struct pollfd p = {listener, POLLIN, 0};
  CHECK(poll(&p, 1, 5000) == 1);
  return accept(listener, NULL, NULL);
}

#endif
