/* Error codes: names, descriptions, and the translation from libuv's codes. */
#include "internal.h"

#include <errno.h>
#include <netdb.h>

/* The libuv twin of each code libuv has one for. On Linux, libuv's codes for system errors
 * are the negated errno, as weft's are; the getaddrinfo ones are not. */
#define WEFT__UV_TWINS(X)                                                                          \
  X(EPERM, UV_EPERM)                                                                               \
  X(ENOENT, UV_ENOENT)                                                                             \
  X(ESRCH, UV_ESRCH)                                                                               \
  X(EINTR, UV_EINTR)                                                                               \
  X(EIO, UV_EIO)                                                                                   \
  X(ENXIO, UV_ENXIO)                                                                               \
  X(E2BIG, UV_E2BIG)                                                                               \
  X(EBADF, UV_EBADF)                                                                               \
  X(EAGAIN, UV_EAGAIN)                                                                             \
  X(ENOMEM, UV_ENOMEM)                                                                             \
  X(EACCES, UV_EACCES)                                                                             \
  X(EFAULT, UV_EFAULT)                                                                             \
  X(EBUSY, UV_EBUSY)                                                                               \
  X(EEXIST, UV_EEXIST)                                                                             \
  X(EXDEV, UV_EXDEV)                                                                               \
  X(ENODEV, UV_ENODEV)                                                                             \
  X(ENOTDIR, UV_ENOTDIR)                                                                           \
  X(EISDIR, UV_EISDIR)                                                                             \
  X(EINVAL, UV_EINVAL)                                                                             \
  X(ENFILE, UV_ENFILE)                                                                             \
  X(EMFILE, UV_EMFILE)                                                                             \
  X(ENOTTY, UV_ENOTTY)                                                                             \
  X(ETXTBSY, UV_ETXTBSY)                                                                           \
  X(EFBIG, UV_EFBIG)                                                                               \
  X(ENOSPC, UV_ENOSPC)                                                                             \
  X(ESPIPE, UV_ESPIPE)                                                                             \
  X(EROFS, UV_EROFS)                                                                               \
  X(EMLINK, UV_EMLINK)                                                                             \
  X(EPIPE, UV_EPIPE)                                                                               \
  X(ERANGE, UV_ERANGE)                                                                             \
  X(ENAMETOOLONG, UV_ENAMETOOLONG)                                                                 \
  X(ENOSYS, UV_ENOSYS)                                                                             \
  X(ENOTEMPTY, UV_ENOTEMPTY)                                                                       \
  X(ELOOP, UV_ELOOP)                                                                               \
  X(EPROTO, UV_EPROTO)                                                                             \
  X(EILSEQ, UV_EILSEQ)                                                                             \
  X(ENOTSOCK, UV_ENOTSOCK)                                                                         \
  X(EMSGSIZE, UV_EMSGSIZE)                                                                         \
  X(EPROTOTYPE, UV_EPROTOTYPE)                                                                     \
  X(ENOPROTOOPT, UV_ENOPROTOOPT)                                                                   \
  X(EPROTONOSUPPORT, UV_EPROTONOSUPPORT)                                                           \
  X(ESOCKTNOSUPPORT, UV_ESOCKTNOSUPPORT)                                                           \
  X(ENOTSUP, UV_ENOTSUP)                                                                           \
  X(EAFNOSUPPORT, UV_EAFNOSUPPORT)                                                                 \
  X(EADDRINUSE, UV_EADDRINUSE)                                                                     \
  X(EADDRNOTAVAIL, UV_EADDRNOTAVAIL)                                                               \
  X(ENETDOWN, UV_ENETDOWN)                                                                         \
  X(ENETUNREACH, UV_ENETUNREACH)                                                                   \
  X(ECONNABORTED, UV_ECONNABORTED)                                                                 \
  X(ECONNRESET, UV_ECONNRESET)                                                                     \
  X(ENOBUFS, UV_ENOBUFS)                                                                           \
  X(EISCONN, UV_EISCONN)                                                                           \
  X(ENOTCONN, UV_ENOTCONN)                                                                         \
  X(ESHUTDOWN, UV_ESHUTDOWN)                                                                       \
  X(ETIMEDOUT, UV_ETIMEDOUT)                                                                       \
  X(ECONNREFUSED, UV_ECONNREFUSED)                                                                 \
  X(EHOSTDOWN, UV_EHOSTDOWN)                                                                       \
  X(EHOSTUNREACH, UV_EHOSTUNREACH)                                                                 \
  X(EALREADY, UV_EALREADY)                                                                         \
  X(EOPCANCELED, UV_ECANCELED)                                                                     \
  X(EAI_ADDRFAMILY, UV_EAI_ADDRFAMILY)                                                             \
  X(EAI_AGAIN, UV_EAI_AGAIN)                                                                       \
  X(EAI_BADFLAGS, UV_EAI_BADFLAGS)                                                                 \
  X(EAI_BADHINTS, UV_EAI_BADHINTS)                                                                 \
  X(EAI_CANCELED, UV_EAI_CANCELED)                                                                 \
  X(EAI_FAIL, UV_EAI_FAIL)                                                                         \
  X(EAI_FAMILY, UV_EAI_FAMILY)                                                                     \
  X(EAI_MEMORY, UV_EAI_MEMORY)                                                                     \
  X(EAI_NODATA, UV_EAI_NODATA)                                                                     \
  X(EAI_NONAME, UV_EAI_NONAME)                                                                     \
  X(EAI_OVERFLOW, UV_EAI_OVERFLOW)                                                                 \
  X(EAI_PROTOCOL, UV_EAI_PROTOCOL)                                                                 \
  X(EAI_SERVICE, UV_EAI_SERVICE)                                                                   \
  X(EAI_SOCKTYPE, UV_EAI_SOCKTYPE)

const char *weft_strerror(int code) {
  switch (code) {
  case 0:
    return "success";
#define WEFT__STR(name, code, text)                                                                \
  case WEFT_##name:                                                                                \
    return text;
    WEFT_ERRNO_MAP(WEFT__STR)
#undef WEFT__STR
  }
  return "unknown error";
}

const char *weft_err_name(int code) {
  switch (code) {
  case 0:
    return "WEFT_OK";
#define WEFT__NAME(name, code, text)                                                               \
  case WEFT_##name:                                                                                \
    return "WEFT_" #name;
    WEFT_ERRNO_MAP(WEFT__NAME)
#undef WEFT__NAME
  }
  return "WEFT_EUNKNOWN";
}

/* Error paths only, so a linear scan is fine. */
int weft_error_from_uv(int uv_code) {
  static const struct {
    int uv;
    int weft;
  } table[] = {
#define WEFT__ROW(name, uv) {uv, WEFT_##name},
      WEFT__UV_TWINS(WEFT__ROW)
#undef WEFT__ROW
  };
  if (uv_code >= 0)
    return uv_code;
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (table[i].uv == uv_code)
      return table[i].weft;
  return WEFT_EUNKNOWN;
}

/* On Unix libuv's code for a system error is the negated errno of the platform it was built
 * for, so the twin gives the platform's number; getaddrinfo codes are libuv's own. */
static int eai_number(int code) {
  switch (code) {
#ifdef EAI_ADDRFAMILY
  case WEFT_EAI_ADDRFAMILY:
    return EAI_ADDRFAMILY;
#endif
  case WEFT_EAI_AGAIN:
    return EAI_AGAIN;
  case WEFT_EAI_BADFLAGS:
    return EAI_BADFLAGS;
#ifdef EAI_BADHINTS
  case WEFT_EAI_BADHINTS:
    return EAI_BADHINTS;
#endif
#ifdef EAI_CANCELED
  case WEFT_EAI_CANCELED:
    return EAI_CANCELED;
#endif
  case WEFT_EAI_FAIL:
    return EAI_FAIL;
  case WEFT_EAI_FAMILY:
    return EAI_FAMILY;
  case WEFT_EAI_MEMORY:
    return EAI_MEMORY;
#ifdef EAI_NODATA
  case WEFT_EAI_NODATA:
    return EAI_NODATA;
#endif
  case WEFT_EAI_NONAME:
    return EAI_NONAME;
#ifdef EAI_OVERFLOW
  case WEFT_EAI_OVERFLOW:
    return EAI_OVERFLOW;
#endif
#ifdef EAI_PROTOCOL
  case WEFT_EAI_PROTOCOL:
    return EAI_PROTOCOL;
#endif
  case WEFT_EAI_SERVICE:
    return EAI_SERVICE;
  case WEFT_EAI_SOCKTYPE:
    return EAI_SOCKTYPE;
  default:
    return 0;
  }
}

int weft_err_system(int code) {
  if (code <= -2000 && code > -3000)
    return eai_number(code);
  if (code <= -2000 || code >= 0)
    return 0;
  switch (code) {
  /* the system errors libuv has no code for */
  case WEFT_ENOEXEC:
    return ENOEXEC;
  case WEFT_ECHILD:
    return ECHILD;
  case WEFT_EDESTADDRREQ:
    return EDESTADDRREQ;
#define WEFT__ERRNO(name, uv)                                                                      \
  case WEFT_##name:                                                                                \
    return -(uv);
    WEFT__UV_TWINS(WEFT__ERRNO)
#undef WEFT__ERRNO
  }
  return 0;
}

int weft__error_from_errno(int err) {
  static const int known[] = {
#define WEFT__CODE(name, code, text) WEFT_##name,
      WEFT_ERRNO_MAP(WEFT__CODE)
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
