/* Error codes: names, descriptions, and the translation from libuv's codes. */
#include "internal.h"

/* One row per code: the weft code, its libuv twin (0 when libuv has none), its text. */
#define WEFT__ERRORS(X)                                                                            \
  X(EPERM, UV_EPERM, "operation not permitted")                                                    \
  X(ENOENT, UV_ENOENT, "no such file or directory")                                                \
  X(ESRCH, UV_ESRCH, "no such process")                                                            \
  X(EINTR, UV_EINTR, "interrupted system call")                                                    \
  X(EIO, UV_EIO, "i/o error")                                                                      \
  X(ENXIO, UV_ENXIO, "no such device or address")                                                  \
  X(E2BIG, UV_E2BIG, "argument list too long")                                                     \
  X(ENOEXEC, 0, "exec format error")                                                               \
  X(EBADF, UV_EBADF, "bad file descriptor")                                                        \
  X(ECHILD, 0, "no child processes")                                                               \
  X(EAGAIN, UV_EAGAIN, "resource temporarily unavailable")                                         \
  X(ENOMEM, UV_ENOMEM, "not enough memory")                                                        \
  X(EACCES, UV_EACCES, "permission denied")                                                        \
  X(EFAULT, UV_EFAULT, "bad address in system call argument")                                      \
  X(EBUSY, UV_EBUSY, "resource busy or locked")                                                    \
  X(EEXIST, UV_EEXIST, "file already exists")                                                      \
  X(EXDEV, UV_EXDEV, "cross-device link not permitted")                                            \
  X(ENODEV, UV_ENODEV, "no such device")                                                           \
  X(ENOTDIR, UV_ENOTDIR, "not a directory")                                                        \
  X(EISDIR, UV_EISDIR, "illegal operation on a directory")                                         \
  X(EINVAL, UV_EINVAL, "invalid argument")                                                         \
  X(ENFILE, UV_ENFILE, "file table overflow")                                                      \
  X(EMFILE, UV_EMFILE, "too many open files")                                                      \
  X(ENOTTY, UV_ENOTTY, "inappropriate ioctl for device")                                           \
  X(ETXTBSY, UV_ETXTBSY, "text file is busy")                                                      \
  X(EFBIG, UV_EFBIG, "file too large")                                                             \
  X(ENOSPC, UV_ENOSPC, "no space left on device")                                                  \
  X(ESPIPE, UV_ESPIPE, "invalid seek")                                                             \
  X(EROFS, UV_EROFS, "read-only file system")                                                      \
  X(EMLINK, UV_EMLINK, "too many links")                                                           \
  X(EPIPE, UV_EPIPE, "broken pipe")                                                                \
  X(ERANGE, UV_ERANGE, "result too large")                                                         \
  X(ENAMETOOLONG, UV_ENAMETOOLONG, "name too long")                                                \
  X(ENOSYS, UV_ENOSYS, "function not implemented")                                                 \
  X(ENOTEMPTY, UV_ENOTEMPTY, "directory not empty")                                                \
  X(ELOOP, UV_ELOOP, "too many symbolic links encountered")                                        \
  X(EPROTO, UV_EPROTO, "protocol error")                                                           \
  X(EILSEQ, UV_EILSEQ, "illegal byte sequence")                                                    \
  X(ENOTSOCK, UV_ENOTSOCK, "socket operation on non-socket")                                       \
  X(EDESTADDRREQ, 0, "destination address required")                                               \
  X(EMSGSIZE, UV_EMSGSIZE, "message too long")                                                     \
  X(EPROTOTYPE, UV_EPROTOTYPE, "protocol wrong type for socket")                                   \
  X(ENOPROTOOPT, UV_ENOPROTOOPT, "protocol not available")                                         \
  X(EPROTONOSUPPORT, UV_EPROTONOSUPPORT, "protocol not supported")                                 \
  X(ESOCKTNOSUPPORT, UV_ESOCKTNOSUPPORT, "socket type not supported")                              \
  X(ENOTSUP, UV_ENOTSUP, "operation not supported on socket")                                      \
  X(EAFNOSUPPORT, UV_EAFNOSUPPORT, "address family not supported")                                 \
  X(EADDRINUSE, UV_EADDRINUSE, "address already in use")                                           \
  X(EADDRNOTAVAIL, UV_EADDRNOTAVAIL, "address not available")                                      \
  X(ENETDOWN, UV_ENETDOWN, "network is down")                                                      \
  X(ENETUNREACH, UV_ENETUNREACH, "network is unreachable")                                         \
  X(ECONNABORTED, UV_ECONNABORTED, "software caused connection abort")                             \
  X(ECONNRESET, UV_ECONNRESET, "connection reset by peer")                                         \
  X(ENOBUFS, UV_ENOBUFS, "no buffer space available")                                              \
  X(EISCONN, UV_EISCONN, "socket is already connected")                                            \
  X(ENOTCONN, UV_ENOTCONN, "socket is not connected")                                              \
  X(ESHUTDOWN, UV_ESHUTDOWN, "cannot send after transport endpoint shutdown")                      \
  X(ETIMEDOUT, UV_ETIMEDOUT, "timed out")                                                          \
  X(ECONNREFUSED, UV_ECONNREFUSED, "connection refused")                                           \
  X(EHOSTDOWN, UV_EHOSTDOWN, "host is down")                                                       \
  X(EHOSTUNREACH, UV_EHOSTUNREACH, "host is unreachable")                                          \
  X(EALREADY, UV_EALREADY, "connection already in progress")                                       \
  X(ECANCELED, UV_ECANCELED, "operation canceled")                                                 \
  X(EAI_ADDRFAMILY, UV_EAI_ADDRFAMILY, "address family not supported by name")                     \
  X(EAI_AGAIN, UV_EAI_AGAIN, "temporary failure in name resolution")                               \
  X(EAI_BADFLAGS, UV_EAI_BADFLAGS, "bad ai_flags value")                                           \
  X(EAI_BADHINTS, UV_EAI_BADHINTS, "invalid value for hints")                                      \
  X(EAI_CANCELED, UV_EAI_CANCELED, "name resolution cancelled")                                    \
  X(EAI_FAIL, UV_EAI_FAIL, "permanent failure in name resolution")                                 \
  X(EAI_FAMILY, UV_EAI_FAMILY, "ai_family not supported")                                          \
  X(EAI_MEMORY, UV_EAI_MEMORY, "out of memory in name resolution")                                 \
  X(EAI_NODATA, UV_EAI_NODATA, "no address")                                                       \
  X(EAI_NONAME, UV_EAI_NONAME, "unknown node or service")                                          \
  X(EAI_OVERFLOW, UV_EAI_OVERFLOW, "argument buffer overflow")                                     \
  X(EAI_PROTOCOL, UV_EAI_PROTOCOL, "resolved protocol is unknown")                                 \
  X(EAI_SERVICE, UV_EAI_SERVICE, "service not available for socket type")                          \
  X(EAI_SOCKTYPE, UV_EAI_SOCKTYPE, "socket type not supported")                                    \
  X(EUNKNOWN, 0, "unknown error")                                                                  \
  X(ECANCELLED, 0, "operation was cancelled")                                                      \
  X(EINVALIDSTATE, 0, "invalid state")                                                             \
  X(EINCOMPLETE, 0, "incomplete read: end of stream before the expected bytes")                    \
  X(ELIMITOVERRUN, 0, "buffer limit overrun")                                                      \
  X(EQUEUEEMPTY, 0, "queue is empty")                                                              \
  X(EQUEUEFULL, 0, "queue is full")                                                                \
  X(EQUEUESHUTDOWN, 0, "queue is shut down")                                                       \
  X(EBROKENBARRIER, 0, "barrier is broken")                                                        \
  X(ESENDFILEUNAVAIL, 0, "sendfile is not available for this transport")                           \
  X(ECLOSED, 0, "closed")                                                                          \
  X(EWRONGTHREAD, 0, "called from a thread that does not own the loop")                            \
  X(ENOTINTASK, 0, "must be called from inside a stackful task")                                   \
  X(ERUNNING, 0, "the loop is already running")                                                    \
  X(EGROUP, 0, "unhandled errors in a task group")                                                 \
  X(ETLS, 0, "TLS error")                                                                          \
  X(EEOF, 0, "end of stream")

const char *weft_strerror(int code) {
  switch (code) {
  case 0:
    return "success";
#define WEFT__STR(name, uv, text)                                                                  \
  case WEFT_##name:                                                                                \
    return text;
    WEFT__ERRORS(WEFT__STR)
#undef WEFT__STR
  }
  return "unknown error";
}

const char *weft_err_name(int code) {
  switch (code) {
  case 0:
    return "WEFT_OK";
#define WEFT__NAME(name, uv, text)                                                                 \
  case WEFT_##name:                                                                                \
    return "WEFT_" #name;
    WEFT__ERRORS(WEFT__NAME)
#undef WEFT__NAME
  }
  return "WEFT_EUNKNOWN";
}

/* Error paths only, so a linear scan is fine. Rows without a libuv twin hold 0 and never
 * match, since uv_code is negative here. */
int weft_error_from_uv(int uv_code) {
  static const struct {
    int uv;
    int weft;
  } table[] = {
#define WEFT__ROW(name, uv, text) {uv, WEFT_##name},
      WEFT__ERRORS(WEFT__ROW)
#undef WEFT__ROW
  };
  if (uv_code >= 0)
    return uv_code;
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (table[i].uv == uv_code)
      return table[i].weft;
  return WEFT_EUNKNOWN;
}

int weft__error_from_errno(int err) {
  static const int known[] = {
#define WEFT__CODE(name, uv, text) WEFT_##name,
      WEFT__ERRORS(WEFT__CODE)
#undef WEFT__CODE
  };
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (known[i] == -err && err > 0)
      return -err;
  return WEFT_EUNKNOWN;
}

unsigned weft_version(void) {
  return WEFT_VERSION_HEX;
}

const char *weft_version_string(void) {
  return WEFT__STRINGIFY(WEFT_VERSION_MAJOR) "." WEFT__STRINGIFY(
      WEFT_VERSION_MINOR) "." WEFT__STRINGIFY(WEFT_VERSION_PATCH);
}
