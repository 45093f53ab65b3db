/*
 * peercred: the credentials (pid, uid, gid) the kernel records for the process at the other end of a
 * connected Unix domain socket (Linux SO_PEERCRED). Node has no API for them; the allocation server uses
 * them to check the pid a HELLO states and to count connections per uid (src/server/peer-credentials.ts).
 *
 * Built without node-gyp (scripts/build-native.mjs): plain `cc -shared -fPIC` against the Node-API
 * headers; the napi_* symbols resolve against the running node binary when the addon is loaded.
 *
 * dupDescriptor(fd) lets the server hand an accepted connection to a worker thread (ingest shards,
 * docs/ARCHITECTURE.md "Ingest on more than one core"): the copy keeps the connection open after the
 * main thread closes its own handle.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define NAPI_VERSION 8
#include <node_api.h>

#ifndef SO_PEERCRED
#error "SO_PEERCRED is Linux-only; the server falls back to the HELLO's own claims elsewhere"
#endif

static napi_value throw_error(napi_env env, const char *code, const char *message) {
  napi_throw_error(env, code, message);
  return NULL;
}

static int set_number(napi_env env, napi_value object, const char *name, double value) {
  napi_value number;
  if (napi_create_double(env, value, &number) != napi_ok) return 0;
  return napi_set_named_property(env, object, name, number) == napi_ok;
}

/* peerCredentials(fd: number): { pid, uid, gid }; throws on a bad fd or a socket without a peer. */
static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) {
    return throw_error(env, "ERR_PEERCRED_ARGUMENT", "peerCredentials(fd) needs a file descriptor");
  }
  int32_t fd;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    return throw_error(env, "ERR_PEERCRED_ARGUMENT", "peerCredentials(fd): fd must be a non-negative integer");
  }
  struct ucred cred;
  socklen_t length = sizeof cred;
  memset(&cred, 0, sizeof cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) {
    return throw_error(env, "ERR_PEERCRED_GETSOCKOPT", strerror(errno));
  }
  if (length != sizeof cred) {
    return throw_error(env, "ERR_PEERCRED_GETSOCKOPT", "SO_PEERCRED returned a short answer");
  }
  napi_value result;
  if (napi_create_object(env, &result) != napi_ok || !set_number(env, result, "pid", (double)cred.pid) ||
      !set_number(env, result, "uid", (double)cred.uid) || !set_number(env, result, "gid", (double)cred.gid)) {
    return throw_error(env, "ERR_PEERCRED_RESULT", "could not build the result object");
  }
  return result;
}

/*
 * dupDescriptor(fd: number): number; a new descriptor for the same open file (F_DUPFD_CLOEXEC: never
 * inherited by a child process). Throws ERR_PEERCRED_ARGUMENT or ERR_PEERCRED_DUPFD (strerror: EBADF for
 * a descriptor that is not open, EMFILE at the open-file limit).
 */
static napi_value dup_descriptor(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) {
    return throw_error(env, "ERR_PEERCRED_ARGUMENT", "dupDescriptor(fd) needs a file descriptor");
  }
  int32_t fd;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    return throw_error(env, "ERR_PEERCRED_ARGUMENT", "dupDescriptor(fd): fd must be a non-negative integer");
  }
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return throw_error(env, "ERR_PEERCRED_DUPFD", strerror(errno));
  napi_value result;
  if (napi_create_int32(env, copy, &result) != napi_ok) {
    close(copy);
    return throw_error(env, "ERR_PEERCRED_RESULT", "could not build the result number");
  }
  return result;
}

static int export_function(napi_env env, napi_value exports, const char *name, napi_callback callback) {
  napi_value fn;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, NULL, &fn) != napi_ok) return 0;
  return napi_set_named_property(env, exports, name, fn) == napi_ok;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  if (!export_function(env, exports, "peerCredentials", peer_credentials)) return NULL;
  if (!export_function(env, exports, "dupDescriptor", dup_descriptor)) return NULL;
  return exports;
}
