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

enum weft_errno {
  WEFT_OK = 0,
  /* Operating-system and libuv errors. */
  WEFT_EPERM = -1,
  WEFT_ENOENT = -2,
  WEFT_ESRCH = -3,
  WEFT_EINTR = -4,
  WEFT_EIO = -5,
  WEFT_ENXIO = -6,
  WEFT_E2BIG = -7,
  WEFT_ENOEXEC = -8,
  WEFT_EBADF = -9,
  WEFT_ECHILD = -10,
  WEFT_EAGAIN = -11,
  WEFT_ENOMEM = -12,
  WEFT_EACCES = -13,
  WEFT_EFAULT = -14,
  WEFT_EBUSY = -16,
  WEFT_EEXIST = -17,
  WEFT_EXDEV = -18,
  WEFT_ENODEV = -19,
  WEFT_ENOTDIR = -20,
  WEFT_EISDIR = -21,
  WEFT_EINVAL = -22,
  WEFT_ENFILE = -23,
  WEFT_EMFILE = -24,
  WEFT_ENOTTY = -25,
  WEFT_ETXTBSY = -26,
  WEFT_EFBIG = -27,
  WEFT_ENOSPC = -28,
  WEFT_ESPIPE = -29,
  WEFT_EROFS = -30,
  WEFT_EMLINK = -31,
  WEFT_EPIPE = -32,
  WEFT_ERANGE = -34,
  WEFT_ENAMETOOLONG = -36,
  WEFT_ENOSYS = -38,
  WEFT_ENOTEMPTY = -39,
  WEFT_ELOOP = -40,
  WEFT_EPROTO = -71,
  WEFT_EILSEQ = -84,
  WEFT_ENOTSOCK = -88,
  WEFT_EDESTADDRREQ = -89,
  WEFT_EMSGSIZE = -90,
  WEFT_EPROTOTYPE = -91,
  WEFT_ENOPROTOOPT = -92,
  WEFT_EPROTONOSUPPORT = -93,
  WEFT_ESOCKTNOSUPPORT = -94,
  WEFT_ENOTSUP = -95,
  WEFT_EAFNOSUPPORT = -97,
  WEFT_EADDRINUSE = -98,
  WEFT_EADDRNOTAVAIL = -99,
  WEFT_ENETDOWN = -100,
  WEFT_ENETUNREACH = -101,
  WEFT_ECONNABORTED = -103,
  WEFT_ECONNRESET = -104,
  WEFT_ENOBUFS = -105,
  WEFT_EISCONN = -106,
  WEFT_ENOTCONN = -107,
  WEFT_ESHUTDOWN = -108,
  WEFT_ETIMEDOUT = -110, /* also asyncio's TimeoutError (wait_for, timeout) */
  WEFT_ECONNREFUSED = -111,
  WEFT_EHOSTDOWN = -112,
  WEFT_EHOSTUNREACH = -113,
  WEFT_EALREADY = -114,
  WEFT_ECANCELED = -125, /* an OS operation was cancelled (not asyncio's CancelledError) */
  /* Name resolution (getaddrinfo) errors. */
  WEFT_EAI_ADDRFAMILY = -2001,
  WEFT_EAI_AGAIN = -2002,
  WEFT_EAI_BADFLAGS = -2003,
  WEFT_EAI_BADHINTS = -2004,
  WEFT_EAI_CANCELED = -2005,
  WEFT_EAI_FAIL = -2006,
  WEFT_EAI_FAMILY = -2007,
  WEFT_EAI_MEMORY = -2008,
  WEFT_EAI_NODATA = -2009,
  WEFT_EAI_NONAME = -2010,
  WEFT_EAI_OVERFLOW = -2011,
  WEFT_EAI_PROTOCOL = -2012,
  WEFT_EAI_SERVICE = -2013,
  WEFT_EAI_SOCKTYPE = -2014,
  /* asyncio's own errors. */
  WEFT_EUNKNOWN = -3000,         /* an error the core has no code for */
  WEFT_ECANCELLED = -3001,       /* asyncio.CancelledError */
  WEFT_EINVALIDSTATE = -3002,    /* asyncio.InvalidStateError */
  WEFT_EINCOMPLETE = -3003,      /* asyncio.IncompleteReadError */
  WEFT_ELIMITOVERRUN = -3004,    /* asyncio.LimitOverrunError */
  WEFT_EQUEUEEMPTY = -3005,      /* asyncio.QueueEmpty */
  WEFT_EQUEUEFULL = -3006,       /* asyncio.QueueFull */
  WEFT_EQUEUESHUTDOWN = -3007,   /* asyncio.QueueShutDown */
  WEFT_EBROKENBARRIER = -3008,   /* asyncio.BrokenBarrierError */
  WEFT_ESENDFILEUNAVAIL = -3009, /* asyncio.SendfileNotAvailableError */
  WEFT_ECLOSED = -3010,          /* the loop or object is closed */
  WEFT_EWRONGTHREAD = -3011,     /* called from a thread that does not own the loop */
  WEFT_ENOTINTASK = -3012,       /* weft_await or weft_sleep outside a stackful task */
  WEFT_ERUNNING = -3013,         /* the loop is already running */
  WEFT_EGROUP = -3014,           /* a TaskGroup's children failed (asyncio's ExceptionGroup) */
  WEFT_ETLS = -3015,             /* a TLS protocol or verification error (ssl.SSLError) */
  WEFT_EEOF = -3016,             /* end of stream, or an iterator is exhausted */
};

/* A short description of an error code ("operation was cancelled"); never NULL. */
WEFT_API const char *weft_strerror(int code);
/* The code's symbolic name ("WEFT_ECANCELLED"); never NULL. */
WEFT_API const char *weft_err_name(int code);
/* Translates a libuv error code into a weft code (unknown codes become WEFT_EUNKNOWN). */
WEFT_API int weft_error_from_uv(int uv_code);

#ifdef __cplusplus
}
#endif
#endif
