/* Name resolution: libuv's getaddrinfo/getnameinfo behind futures, and the callback form
 * the connection and server code uses. */
#include "net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The C library's own call, for the names libuv refuses before asking it. */
typedef struct direct_s {
  uv_work_t work;
  char *host, *service;
  struct addrinfo hints;
  struct addrinfo *res;
  int error;
  struct weft__resolve_s *owner;
} direct_t;

struct weft__resolve_s {
  uv_getaddrinfo_t req;
  weft__resolve_cb cb;
  void *arg;
  int cancelled;
  struct addrinfo *numeric; /* the numeric fast path's result, until delivered */
  int fast;                 /* answered without the threadpool: nothing to uv_cancel */
  direct_t *direct;         /* set while getaddrinfo(3) runs without libuv */
};

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  weft__resolve_t *r = req->data;
  if (r->cancelled) {
    if (res)
      uv_freeaddrinfo(res);
  } else {
    r->cb(r->arg, status < 0 ? NULL : res, status < 0 ? weft_error_from_uv(status) : 0);
  }
  free(r);
}

static int error_from_gai(int rc) {
  switch (rc) {
#ifdef EAI_ADDRFAMILY
  case EAI_ADDRFAMILY:
    return WEFT_EAI_ADDRFAMILY;
#endif
#ifdef EAI_NODATA
  case EAI_NODATA:
    return WEFT_EAI_NODATA;
#endif
  case EAI_AGAIN:
    return WEFT_EAI_AGAIN;
  case EAI_BADFLAGS:
    return WEFT_EAI_BADFLAGS;
  case EAI_FAIL:
    return WEFT_EAI_FAIL;
  case EAI_FAMILY:
    return WEFT_EAI_FAMILY;
  case EAI_MEMORY:
    return WEFT_EAI_MEMORY;
  case EAI_NONAME:
    return WEFT_EAI_NONAME;
  case EAI_OVERFLOW:
    return WEFT_EAI_OVERFLOW;
  case EAI_SERVICE:
    return WEFT_EAI_SERVICE;
  case EAI_SOCKTYPE:
    return WEFT_EAI_SOCKTYPE;
  case EAI_SYSTEM:
    return weft_error_from_uv(-errno);
  default:
    return WEFT_EAI_FAIL;
  }
}

static void direct_work(uv_work_t *w) {
  direct_t *d = w->data;
  d->error = getaddrinfo(d->host, d->service, &d->hints, &d->res);
  d->error = d->error ? error_from_gai(d->error) : 0;
}

static void direct_after(uv_work_t *w, int status) {
  direct_t *d = w->data;
  weft__resolve_t *r = d->owner;
  if (status == UV_ECANCELED || r->cancelled) {
    if (d->res)
      freeaddrinfo(d->res);
  } else {
    r->cb(r->arg, d->error ? NULL : d->res, d->error);
    if (d->error && d->res)
      freeaddrinfo(d->res);
  }
  free(d->host);
  free(d->service);
  free(d);
  free(r);
}

/* libuv refuses a host its IDNA conversion rejects (empty, or longer than a DNS name) with
 * EINVAL before any lookup; the C library answers such a host with its own error, which is
 * what asyncio's loop.getaddrinfo (socket.getaddrinfo on a thread) raises, so ask it. */
static int resolve_direct(uv_loop_t *uv, weft__resolve_t *r, const char *host, const char *service,
                          const struct addrinfo *hints) {
  direct_t *d = calloc(1, sizeof(*d));
  if (!d)
    return UV_ENOMEM;
  d->host = strdup(host);
  d->service = service ? strdup(service) : NULL;
  d->hints = *hints;
  d->owner = r;
  d->work.data = d;
  int rc = (!d->host || (service && !d->service)) ? UV_ENOMEM : 0;
  if (rc == 0)
    rc = uv_queue_work(uv, &d->work, direct_work, direct_after);
  if (rc < 0) {
    free(d->host);
    free(d->service);
    free(d);
    return rc;
  }
  r->direct = d;
  return 0;
}

/* The numeric fast path's result travels as the value of a completed future: its done
 * callback delivers it from the loop (never from inside weft__resolve), and if the loop
 * closes first the value's destructor frees it. */
static void free_fast(void *p) {
  weft__resolve_t *r = p;
  if (r->numeric)
    freeaddrinfo(r->numeric);
  free(r);
}

static void on_fast_done(weft_future_t *f, void *arg) {
  (void)f;
  weft__resolve_t *r = arg;
  struct addrinfo *res = r->numeric;
  r->numeric = NULL;
  if (r->cancelled)
    freeaddrinfo(res);
  else
    r->cb(r->arg, res, 0); /* the callee owns res; r goes with the future */
}

/* A numeric host (or none) with a numeric port needs no lookup: answer it here, as asyncio's
 * _ipaddr_info does, instead of in libuv's threadpool. Besides the thread hop this keeps a
 * server on a literal address from starting the threadpool at all; once a process has
 * threads, every libc I/O call pays for cancellation points (about 30 instructions per
 * read or write). Returns 1 when it took the request, 0 when the threadpool must, or an
 * error (r is gone then). */
static int resolve_numeric(weft_loop_t *loop, weft__resolve_t *r, const char *host,
                           const char *service, const struct addrinfo *hints) {
  if (hints->ai_flags & AI_CANONNAME)
    return 0; /* the lookup may name the host: leave that to getaddrinfo proper */
  struct addrinfo h = *hints;
  h.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
  struct addrinfo *res = NULL;
  if (getaddrinfo(host, service, &h, &res) != 0)
    return 0; /* not numeric (or an error the real lookup will report) */
  weft_future_t *f;
  if (weft_future_new(loop, &f) != 0) {
    freeaddrinfo(res);
    return 0;
  }
  r->numeric = res;
  r->fast = 1;
  weft_future_set_result(f, weft__value_object(WEFT_VALUE_ADDRINFO, r, free_fast));
  int rc = weft_future_add_done_callback(f, on_fast_done, r);
  weft_future_release(f); /* the scheduled done callback holds the future (or r goes now) */
  return rc == 0 ? 1 : rc;
}

int weft__resolve(weft_loop_t *loop, const char *host, const char *service, int family,
                  int socktype, int flags, weft__resolve_cb cb, void *arg, weft__resolve_t **out) {
  uv_loop_t *uv = weft_loop_uv(loop);
  if (!uv)
    return WEFT_ECLOSED;
  weft__resolve_t *r = calloc(1, sizeof(*r));
  if (!r)
    return WEFT_ENOMEM;
  r->cb = cb;
  r->arg = arg;
  r->req.data = r;
  struct addrinfo hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = family;
  hints.ai_socktype = socktype;
  hints.ai_flags = flags;
  int fast = service ? resolve_numeric(loop, r, host, service, &hints) : 0;
  if (fast < 0)
    return fast;
  if (fast) {
    if (out)
      *out = r;
    return 0;
  }
  int rc = uv_getaddrinfo(uv, &r->req, on_resolved, host, service, &hints);
  if (rc == UV_EINVAL && host)
    rc = resolve_direct(uv, r, host, service, &hints);
  if (rc < 0) {
    free(r);
    return weft_error_from_uv(rc);
  }
  if (out)
    *out = r;
  return 0;
}

void weft__resolve_cancel(weft__resolve_t *r) {
  if (!r)
    return;
  r->cancelled = 1;
  if (r->direct)
    uv_cancel((uv_req_t *)&r->direct->work);
  else if (!r->fast)
    uv_cancel((uv_req_t *)&r->req);
}

/* ---------------------------------------------------------------- addrinfo lists */

typedef struct entry_s {
  int family, socktype, protocol;
  socklen_t addrlen;
  struct sockaddr_storage addr;
  char *canonname;
} entry_t;

struct weft_addrinfo_s {
  size_t count;
  entry_t entries[];
};

static weft_addrinfo_t *list_from(const struct addrinfo *res) {
  size_t n = 0;
  for (const struct addrinfo *a = res; a; a = a->ai_next)
    n++;
  weft_addrinfo_t *l = calloc(1, sizeof(*l) + n * sizeof(entry_t));
  if (!l)
    return NULL;
  for (const struct addrinfo *a = res; a; a = a->ai_next) {
    if (a->ai_addrlen > sizeof(struct sockaddr_storage))
      continue;
    entry_t *e = &l->entries[l->count++];
    e->family = a->ai_family;
    e->socktype = a->ai_socktype;
    e->protocol = a->ai_protocol;
    e->addrlen = a->ai_addrlen;
    memcpy(&e->addr, a->ai_addr, a->ai_addrlen);
    e->canonname = a->ai_canonname ? strdup(a->ai_canonname) : NULL;
  }
  return l;
}

void weft_addrinfo_free(weft_addrinfo_t *l) {
  if (!l)
    return;
  for (size_t i = 0; i < l->count; i++)
    free(l->entries[i].canonname);
  free(l);
}

static void free_list_value(void *p) {
  weft_addrinfo_free(p);
}

int weft_addrinfo_copy(const weft_addrinfo_t *l, weft_addrinfo_t **out) {
  if (!l || !out)
    return WEFT_EINVAL;
  weft_addrinfo_t *c = malloc(sizeof(*c) + l->count * sizeof(entry_t));
  if (!c)
    return WEFT_ENOMEM;
  memcpy(c, l, sizeof(*c) + l->count * sizeof(entry_t));
  for (size_t i = 0; i < c->count; i++)
    if (l->entries[i].canonname)
      c->entries[i].canonname = strdup(l->entries[i].canonname);
  *out = c;
  return 0;
}

size_t weft_addrinfo_count(const weft_addrinfo_t *l) {
  return l ? l->count : 0;
}

static const entry_t *entry_at(const weft_addrinfo_t *l, size_t i) {
  return l && i < l->count ? &l->entries[i] : NULL;
}

int weft_addrinfo_family(const weft_addrinfo_t *l, size_t i) {
  const entry_t *e = entry_at(l, i);
  return e ? e->family : 0;
}

int weft_addrinfo_socktype(const weft_addrinfo_t *l, size_t i) {
  const entry_t *e = entry_at(l, i);
  return e ? e->socktype : 0;
}

int weft_addrinfo_protocol(const weft_addrinfo_t *l, size_t i) {
  const entry_t *e = entry_at(l, i);
  return e ? e->protocol : 0;
}

const struct sockaddr *weft_addrinfo_addr(const weft_addrinfo_t *l, size_t i, size_t *len) {
  const entry_t *e = entry_at(l, i);
  if (len)
    *len = e ? e->addrlen : 0;
  return e ? (const struct sockaddr *)&e->addr : NULL;
}

const char *weft_addrinfo_canonname(const weft_addrinfo_t *l, size_t i) {
  const entry_t *e = entry_at(l, i);
  return e ? e->canonname : NULL;
}

/* ---------------------------------------------------------------- futures */

typedef struct gai_op_s {
  weft_future_t *future;
  weft__resolve_t *resolve;
  weft__op_watch_t watch;
} gai_op_t;

static void on_gai(void *arg, struct addrinfo *res, int error) {
  gai_op_t *op = arg;
  op->resolve = NULL;
  if (!weft_future_done(op->future)) {
    if (error) {
      weft_future_set_error(op->future, error, weft_strerror(error), NULL, NULL);
    } else {
      weft_addrinfo_t *l = list_from(res);
      if (!l)
        weft_future_set_error(op->future, WEFT_ENOMEM, NULL, NULL, NULL);
      else
        weft_future_set_result(op->future,
                               weft__value_object(WEFT_VALUE_ADDRINFO, l, free_list_value));
    }
  }
  if (res)
    uv_freeaddrinfo(res);
}

/* The op lives until this runs, which it does once whatever completed the future: a lookup
 * still under way then means the future was cancelled, so the lookup is abandoned. */
static void gai_future_done(weft_future_t *f, void *arg) {
  gai_op_t *op = arg;
  if (op->resolve)
    weft__resolve_cancel(op->resolve);
  weft_future_release(op->future);
  free(op);
}

int weft_getaddrinfo(weft_loop_t *loop, const char *host, const char *service, int family,
                     int socktype, int protocol, int flags, weft_future_t **out) {
  if (!loop || !out || (!host && !service))
    return WEFT_EINVAL;
  (void)protocol; /* libuv's hints carry no protocol filter we need; socktype decides */
  gai_op_t *op;
  int rc = weft__op_new(loop, sizeof(*op), offsetof(gai_op_t, future), (void **)&op);
  if (rc)
    return rc;
  rc = weft__resolve(loop, host, service, family, socktype, flags, on_gai, op, &op->resolve);
  if (rc) {
    weft_future_release(op->future);
    free(op);
    return rc;
  }
  weft__future_watch_op(&op->watch, op->future, gai_future_done, op);
  *out = weft_future_retain(op->future);
  return 0;
}

struct weft_nameinfo_s {
  uv_getnameinfo_t req;
  weft_future_t *future;
  char host[NI_MAXHOST];
  char service[NI_MAXSERV];
};

static void free_nameinfo(void *p) {
  free(p);
}

static void on_nameinfo(uv_getnameinfo_t *req, int status, const char *host, const char *service) {
  weft_nameinfo_t *ni = req->data;
  weft_future_t *f = ni->future;
  if (status < 0 || weft_future_done(f)) {
    if (!weft_future_done(f))
      weft_future_set_error(f, weft_error_from_uv(status), NULL, NULL, NULL);
    free(ni);
  } else {
    snprintf(ni->host, sizeof(ni->host), "%s", host ? host : "");
    snprintf(ni->service, sizeof(ni->service), "%s", service ? service : "");
    weft_future_set_result(f, weft__value_object(WEFT_VALUE_NAMEINFO, ni, free_nameinfo));
  }
  weft_future_release(f);
}

int weft_getnameinfo(weft_loop_t *loop, const struct sockaddr *addr, int flags,
                     weft_future_t **out) {
  if (!loop || !addr || !out)
    return WEFT_EINVAL;
  uv_loop_t *uv = weft_loop_uv(loop);
  if (!uv)
    return WEFT_ECLOSED;
  weft_nameinfo_t *ni;
  int rc = weft__op_new(loop, sizeof(*ni), offsetof(weft_nameinfo_t, future), (void **)&ni);
  if (rc)
    return rc;
  ni->req.data = ni;
  rc = uv_getnameinfo(uv, &ni->req, on_nameinfo, addr, flags);
  if (rc < 0) {
    weft_future_release(ni->future);
    free(ni);
    return weft_error_from_uv(rc);
  }
  *out = weft_future_retain(ni->future);
  return 0;
}

const char *weft_nameinfo_host(const weft_nameinfo_t *ni) {
  return ni ? ni->host : NULL;
}

const char *weft_nameinfo_service(const weft_nameinfo_t *ni) {
  return ni ? ni->service : NULL;
}
