/* A minimal check harness for the C client's unit tests: CHECK counts and reports failures; main returns
 * check_exit(). Each test file includes the implementation (ALLOCWATCH_IMPLEMENTATION) to reach the
 * encoders and the client's internals. */
#ifndef ALLOCWATCH_CHECK_H
#define ALLOCWATCH_CHECK_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

static int check_failures;
#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);         \
      check_failures++;                                                               \
    }                                                                                 \
  } while (0)

/* Parses "0b 00 ..." hex text (spaces, newlines and '#'-comments allowed) into out; returns the length. */
static inline size_t check_hex(const char *text, unsigned char *out, size_t cap) {
  size_t n = 0;
  int high = -1;
  for (const char *p = text; *p; p++) {
    if (*p == '#') {
      while (*p && *p != '\n') p++;
      if (!*p) break;
      continue;
    }
    int v = (*p >= '0' && *p <= '9') ? *p - '0' : (*p >= 'a' && *p <= 'f') ? *p - 'a' + 10 : -1;
    if (v < 0) continue;
    if (high < 0) high = v;
    else {
      if (n < cap) out[n] = (unsigned char)(high * 16 + v);
      n++;
      high = -1;
    }
  }
  return n;
}

#ifndef ALLOCWATCH_GOLDEN_FRAMES /* test.sh passes the path; a build from elsewhere can too (-D) */
#define ALLOCWATCH_GOLDEN_FRAMES "test/protocol/golden-frames.txt"
#endif

/* The bytes of section [name] of the shared golden frames (test/protocol/golden-frames.txt, which the
 * TypeScript and Python tests read too) into out; returns the length, 0 (and a failed CHECK) when the file
 * or the section cannot be read. */
static inline size_t golden_hex(const char *name, unsigned char *out, size_t cap) {
  static char text[16384];
  FILE *file = fopen(ALLOCWATCH_GOLDEN_FRAMES, "r");
  if (file == NULL) {
    fprintf(stderr, "cannot open %s (run from the repository root)\n", ALLOCWATCH_GOLDEN_FRAMES);
    check_failures++;
    return 0;
  }
  size_t length = fread(text, 1, sizeof text - 1, file);
  fclose(file);
  text[length] = '\0';
  char header[64];
  snprintf(header, sizeof header, "\n[%s]\n", name);
  char *start = strstr(text, header);
  if (start == NULL) {
    fprintf(stderr, "%s has no [%s] section\n", ALLOCWATCH_GOLDEN_FRAMES, name);
    check_failures++;
    return 0;
  }
  start += strlen(header);
  char *end = strstr(start, "\n[");
  if (end != NULL) *end = '\0';
  return check_hex(start, out, cap);
}

static inline void check_bytes(const char *what, const unsigned char *got, size_t got_n, const unsigned char *want,
                        size_t want_n) {
  if (got_n == want_n && memcmp(got, want, want_n) == 0) return;
  fprintf(stderr, "%s: bytes differ (got %zu, want %zu)\n  got :", what, got_n, want_n);
  for (size_t i = 0; i < got_n; i++) fprintf(stderr, "%02x", got[i]);
  fprintf(stderr, "\n  want:");
  for (size_t i = 0; i < want_n; i++) fprintf(stderr, "%02x", want[i]);
  fprintf(stderr, "\n");
  check_failures++;
}

static inline int check_exit(const char *name) {
  if (check_failures == 0) printf("ok %s\n", name);
  else printf("FAILED %s: %d check(s)\n", name, check_failures);
  return check_failures == 0 ? 0 : 1;
}
/* A listening Unix socket at <dir>/s.sock in a new temporary directory: `dir` is a mkdtemp template
 * (rewritten), `path` receives the socket path. Returns the listening fd. */
static inline int check_listen_temp(char *dir, char *path, size_t path_bytes) {
  CHECK(mkdtemp(dir) != NULL);
  snprintf(path, path_bytes, "%s/s.sock", dir);
  int listener = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
  CHECK(bind(listener, (struct sockaddr *)&addr, sizeof addr) == 0);
  CHECK(listen(listener, 16) == 0);
  return listener;
}

#endif
