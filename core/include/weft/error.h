/* Error codes. Every weft function that can fail returns 0 or one of these negative codes.
 *
 * Operating-system errors carry the same value on every platform (the Linux errno,
 * negated); errors that are asyncio's own sit at -3000 and below. A code the core does not
 * know is reported as WEFT_EUNKNOWN. */
#ifndef WEFT_ERROR_H
#define WEFT_ERROR_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The error table: XX(name, code, description) for every code, one row each. Bindings
 * generate their constants and exception maps from it, so there is no second copy. */
#define WEFT_ERRNO_MAP(XX)                                                                         \
  /* Operating-system and libuv errors: the Linux errno, negated. */                               \
  XX(EPERM, -1, "operation not permitted")                                                         \
  XX(ENOENT, -2, "no such file or directory")                                                      \
  XX(ESRCH, -3, "no such process")                                                                 \
  XX(EINTR, -4, "interrupted system call")                                                         \
  XX(EIO, -5, "i/o error")                                                                         \
  XX(ENXIO, -6, "no such device or address")                                                       \
  XX(E2BIG, -7, "argument list too long")                                                          \
  XX(ENOEXEC, -8, "exec format error")                                                             \
  XX(EBADF, -9, "bad file descriptor")                                                             \
  XX(ECHILD, -10, "no child processes")                                                            \
  XX(EAGAIN, -11, "resource temporarily unavailable")                                              \
  XX(ENOMEM, -12, "not enough memory")                                                             \
  XX(EACCES, -13, "permission denied")                                                             \
  XX(EFAULT, -14, "bad address in system call argument")                                           \
  XX(EBUSY, -16, "resource busy or locked")                                                        \
  XX(EEXIST, -17, "file already exists")                                                           \
  XX(EXDEV, -18, "cross-device link not permitted")                                                \
  XX(ENODEV, -19, "no such device")                                                                \
  XX(ENOTDIR, -20, "not a directory")                                                              \
  XX(EISDIR, -21, "illegal operation on a directory")                                              \
  XX(EINVAL, -22, "invalid argument")                                                              \
  XX(ENFILE, -23, "file table overflow")                                                           \
  XX(EMFILE, -24, "too many open files")                                                           \
  XX(ENOTTY, -25, "inappropriate ioctl for device")                                                \
  XX(ETXTBSY, -26, "text file is busy")                                                            \
  XX(EFBIG, -27, "file too large")                                                                 \
  XX(ENOSPC, -28, "no space left on device")                                                       \
  XX(ESPIPE, -29, "invalid seek")                                                                  \
  XX(EROFS, -30, "read-only file system")                                                          \
  XX(EMLINK, -31, "too many links")                                                                \
  XX(EPIPE, -32, "broken pipe")                                                                    \
  XX(ERANGE, -34, "result too large")                                                              \
  XX(ENAMETOOLONG, -36, "name too long")                                                           \
  XX(ENOSYS, -38, "function not implemented")                                                      \
  XX(ENOTEMPTY, -39, "directory not empty")                                                        \
  XX(ELOOP, -40, "too many symbolic links encountered")                                            \
  XX(EPROTO, -71, "protocol error")                                                                \
  XX(EILSEQ, -84, "illegal byte sequence")                                                         \
  XX(ENOTSOCK, -88, "socket operation on non-socket")                                              \
  XX(EDESTADDRREQ, -89, "destination address required")                                            \
  XX(EMSGSIZE, -90, "message too long")                                                            \
  XX(EPROTOTYPE, -91, "protocol wrong type for socket")                                            \
  XX(ENOPROTOOPT, -92, "protocol not available")                                                   \
  XX(EPROTONOSUPPORT, -93, "protocol not supported")                                               \
  XX(ESOCKTNOSUPPORT, -94, "socket type not supported")                                            \
  XX(ENOTSUP, -95, "operation not supported on socket")                                            \
  XX(EAFNOSUPPORT, -97, "address family not supported")                                            \
  XX(EADDRINUSE, -98, "address already in use")                                                    \
  XX(EADDRNOTAVAIL, -99, "address not available")                                                  \
  XX(ENETDOWN, -100, "network is down")                                                            \
  XX(ENETUNREACH, -101, "network is unreachable")                                                  \
  XX(ECONNABORTED, -103, "software caused connection abort")                                       \
  XX(ECONNRESET, -104, "connection reset by peer")                                                 \
  XX(ENOBUFS, -105, "no buffer space available")                                                   \
  XX(EISCONN, -106, "socket is already connected")                                                 \
  XX(ENOTCONN, -107, "socket is not connected")                                                    \
  XX(ESHUTDOWN, -108, "cannot send after transport endpoint shutdown")                             \
  /* also asyncio's TimeoutError (wait_for, timeout) */                                            \
  XX(ETIMEDOUT, -110, "timed out")                                                                 \
  XX(ECONNREFUSED, -111, "connection refused")                                                     \
  XX(EHOSTDOWN, -112, "host is down")                                                              \
  XX(EHOSTUNREACH, -113, "host is unreachable")                                                    \
  XX(EALREADY, -114, "connection already in progress")                                             \
  /* the OS's ECANCELED; asyncio's CancelledError is ECANCELLED */                                 \
  XX(EOPCANCELED, -125, "operation canceled")                                                      \
  /* Name resolution (getaddrinfo) errors. */                                                      \
  XX(EAI_ADDRFAMILY, -2001, "address family not supported by name")                                \
  XX(EAI_AGAIN, -2002, "temporary failure in name resolution")                                     \
  XX(EAI_BADFLAGS, -2003, "bad ai_flags value")                                                    \
  XX(EAI_BADHINTS, -2004, "invalid value for hints")                                               \
  XX(EAI_CANCELED, -2005, "name resolution cancelled")                                             \
  XX(EAI_FAIL, -2006, "permanent failure in name resolution")                                      \
  XX(EAI_FAMILY, -2007, "ai_family not supported")                                                 \
  XX(EAI_MEMORY, -2008, "out of memory in name resolution")                                        \
  XX(EAI_NODATA, -2009, "no address")                                                              \
  XX(EAI_NONAME, -2010, "unknown node or service")                                                 \
  XX(EAI_OVERFLOW, -2011, "argument buffer overflow")                                              \
  XX(EAI_PROTOCOL, -2012, "resolved protocol is unknown")                                          \
  XX(EAI_SERVICE, -2013, "service not available for socket type")                                  \
  XX(EAI_SOCKTYPE, -2014, "socket type not supported")                                             \
  /* asyncio's own errors, and weft's. */                                                          \
  /* an error the core has no code for */                                                          \
  XX(EUNKNOWN, -3000, "unknown error")                                                             \
  /* asyncio.CancelledError */                                                                     \
  XX(ECANCELLED, -3001, "operation was cancelled")                                                 \
  /* asyncio.InvalidStateError */                                                                  \
  XX(EINVALIDSTATE, -3002, "invalid state")                                                        \
  /* asyncio.IncompleteReadError */                                                                \
  XX(EINCOMPLETE, -3003, "incomplete read: end of stream before the expected bytes")               \
  /* asyncio.LimitOverrunError */                                                                  \
  XX(ELIMITOVERRUN, -3004, "buffer limit overrun")                                                 \
  /* asyncio.QueueEmpty */                                                                         \
  XX(EQUEUEEMPTY, -3005, "queue is empty")                                                         \
  /* asyncio.QueueFull */                                                                          \
  XX(EQUEUEFULL, -3006, "queue is full")                                                           \
  /* asyncio.QueueShutDown */                                                                      \
  XX(EQUEUESHUTDOWN, -3007, "queue is shut down")                                                  \
  /* asyncio.BrokenBarrierError */                                                                 \
  XX(EBROKENBARRIER, -3008, "barrier is broken")                                                   \
  /* asyncio.SendfileNotAvailableError */                                                          \
  XX(ESENDFILEUNAVAIL, -3009, "sendfile is not available for this transport")                      \
  /* the loop or object is closed */                                                               \
  XX(ECLOSED, -3010, "closed")                                                                     \
  /* called from a thread that does not own the loop */                                            \
  XX(EWRONGTHREAD, -3011, "called from a thread that does not own the loop")                       \
  /* an _await function outside a stackful task */                                                 \
  XX(ENOTINTASK, -3012, "must be called from inside a stackful task")                              \
  /* the loop is already running */                                                                \
  XX(ERUNNING, -3013, "the loop is already running")                                               \
  /* a TaskGroup's children failed (ExceptionGroup) */                                             \
  XX(EGROUP, -3014, "unhandled errors in a task group")                                            \
  /* a TLS protocol or verification error (ssl.SSLError) */                                        \
  XX(ETLS, -3015, "TLS error")                                                                     \
  /* end of stream, or an iterator is exhausted */                                                 \
  XX(EEOF, -3016, "end of stream")                                                                 \
  /* a task awaited a future of another loop (RuntimeError) */                                     \
  XX(EWRONGLOOP, -3017, "the future is attached to a different loop")

enum weft_errno {
  WEFT_OK = 0,
#define WEFT__ERRNO_ENUM(name, code, text) WEFT_##name = code,
  WEFT_ERRNO_MAP(WEFT__ERRNO_ENUM)
#undef WEFT__ERRNO_ENUM
};

/* A short description of an error code ("operation was cancelled"); never NULL. */
WEFT_API const char *weft_strerror(int code);
/* The code's symbolic name ("WEFT_ECANCELLED"); never NULL. */
WEFT_API const char *weft_err_name(int code);
/* Translates a libuv error code into a weft code (unknown codes become WEFT_EUNKNOWN). */
WEFT_API int weft_error_from_uv(int uv_code);
/* The number this platform gives the error: the errno (ECONNRESET...) for an operating-system
 * code, the EAI_* value for a name-resolution one; 0 for weft's own codes and for those the
 * platform has no number for. Bindings build the system's own exceptions from it. */
WEFT_API int weft_err_system(int code);

#ifdef __cplusplus
}
#endif
#endif
