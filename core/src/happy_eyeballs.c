/* Happy eyeballs (RFC 8305): connection attempts to a list of addresses, staggered by a
 * delay, the first to connect wins and the others are closed. With no delay the attempts
 * run one after another, as asyncio does without happy_eyeballs_delay. */
#include "net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct weft__he_s {
  weft_loop_t *loop;
  struct sockaddr_storage *addrs;
  size_t count;
  struct sockaddr_storage *locals;
  size_t local_count;
  double delay;
  size_t next;
  weft__stream_t **attempts;
  size_t holds; /* attempts in flight, plus the timer until it is closed */
  uv_timer_t timer;
  int done;
  weft__he_cb cb;
  void *arg;
  int first_error;
  int errors_differ;
  char message[512];
  /* Every failed step, for bindings that rebuild their language's own errors. */
  weft__connect_failure_t *failures;
  size_t nfailures, failures_cap;
  int failures_lost; /* one could not be recorded (no memory): the list is incomplete */
};

static void he_maybe_free(weft__he_t *he) {
  if (he->done && he->holds == 0) {
    free(he->addrs);
    free(he->locals);
    free(he->attempts);
    free(he->failures);
    free(he);
  }
}

static void on_timer_closed(uv_handle_t *h) {
  weft__he_t *he = h->data;
  he->holds--;
  he_maybe_free(he);
}

/* Ends the race: closes the timer and every attempt other than `keep`. */
static void he_finish(weft__he_t *he, weft__stream_t *keep) {
  he->done = 1;
  uv_timer_stop(&he->timer);
  if (!uv_is_closing((uv_handle_t *)&he->timer))
    uv_close((uv_handle_t *)&he->timer, on_timer_closed);
  for (size_t i = 0; i < he->count; i++) {
    weft__stream_t *s = he->attempts[i];
    if (s && s != keep)
      weft__stream_discard(s);
  }
}

static void record_failure(weft__he_t *he, int step, const struct sockaddr *addr, int error) {
  if (he->nfailures == he->failures_cap) {
    size_t cap = he->failures_cap ? 2 * he->failures_cap : 4;
    weft__connect_failure_t *grown = realloc(he->failures, cap * sizeof(*grown));
    if (!grown) {
      he->failures_lost = 1;
      return;
    }
    he->failures = grown;
    he->failures_cap = cap;
  }
  weft__connect_failure_t *f = &he->failures[he->nfailures++];
  memset(f, 0, sizeof(*f));
  f->error = error;
  f->step = step;
  socklen_t len = addr ? weft__sockaddr_len(addr) : 0;
  if (len > 0 && len <= sizeof(f->addr))
    memcpy(&f->addr, addr, len);
}

/* The failures as a future's error detail, or NULL when there are none to give (or the
 * list is incomplete: a binding then falls back on the code and message). */
static weft__error_detail_t *failures_detail(weft__he_t *he) {
  if (he->nfailures == 0 || he->failures_lost)
    return NULL;
  size_t bytes = he->nfailures * sizeof(weft__connect_failure_t);
  weft__error_detail_t *d = calloc(1, sizeof(*d) + bytes);
  if (!d)
    return NULL;
  d->kind = WEFT__DETAIL_CONNECT;
  d->len = he->nfailures;
  memcpy(d->data, he->failures, bytes);
  return d;
}

static void record_error(weft__he_t *he, const struct sockaddr *addr, int error) {
  char host[96];
  int port = 0;
  weft_sockaddr_format(addr, host, sizeof(host), &port);
  if (he->first_error == 0)
    he->first_error = error;
  else if (error != he->first_error)
    he->errors_differ = 1;
  size_t used = strlen(he->message);
  if (used + 1 < sizeof(he->message))
    snprintf(he->message + used, sizeof(he->message) - used, "%s[%s]:%d: %s", used ? "; " : "",
             host, port, weft_strerror(error));
}

static void he_fail(weft__he_t *he) {
  he_finish(he, NULL);
  char text[600];
  if (he->errors_differ)
    snprintf(text, sizeof(text), "Multiple exceptions: %s", he->message);
  else
    snprintf(text, sizeof(text), "%s", he->message);
  he->cb(he->arg, NULL, he->first_error ? he->first_error : WEFT_ECONNREFUSED, text,
         failures_detail(he));
}

static void start_next(weft__he_t *he);

static void on_connect(uv_connect_t *req, int status) {
  weft__stream_t *s = req->data;
  weft__he_t *he = s->connect_ctx;
  he->attempts[s->connect_index] = NULL;
  he->holds--;
  if (he->done) {
    /* A loser: he_finish already closed it (status is UV_ECANCELED) unless it connected in
     * the same iteration as the winner. */
    if (status == 0 && !s->handle_closing)
      weft__stream_discard(s);
    he_maybe_free(he);
    return;
  }
  if (status == 0) {
    he_finish(he, s);
    weft_loop_t *loop = s->base.loop;
    weft__callback_enter(loop); /* the caller's callback makes the connection */
    he->cb(he->arg, s, 0, NULL, NULL);
    weft__callback_leave(loop);
    he_maybe_free(he);
    return;
  }
  const struct sockaddr *addr = (const struct sockaddr *)&he->addrs[s->connect_index];
  record_failure(he, WEFT_CONNECT_STEP_CONNECT, addr, weft_error_from_uv(status));
  record_error(he, addr, weft_error_from_uv(status));
  weft__stream_discard(s);
  /* A failed attempt starts the next at once instead of waiting for the delay. */
  uv_timer_stop(&he->timer);
  he->holds++; /* keep he alive through start_next, which may finish the race */
  start_next(he);
  he->holds--;
  he_maybe_free(he);
}

static void on_timer(uv_timer_t *t) {
  start_next(t->data);
}

/* Binds to the first local address of the attempt's family that will (asyncio's order),
 * recording each that would not, or that there was none of the family. */
static int bind_local(weft__he_t *he, weft__stream_t *s, const struct sockaddr *remote) {
  if (he->local_count == 0)
    return 0;
  int err = 0;
  for (size_t i = 0; i < he->local_count; i++) {
    const struct sockaddr *la = (const struct sockaddr *)&he->locals[i];
    if (la->sa_family != remote->sa_family)
      continue;
    /* bind(2) itself: uv_tcp_bind would set SO_REUSEADDR, which asyncio does not, and
     * put off EADDRINUSE until the connect. */
    uv_os_fd_t fd;
    int rc = uv_fileno((const uv_handle_t *)&s->h.tcp, &fd);
    if (rc == 0 && bind(fd, la, weft__sockaddr_len(la)) == 0)
      return 0;
    err = rc ? weft_error_from_uv(rc) : weft_error_from_uv(-errno);
    record_failure(he, WEFT_CONNECT_STEP_BIND, la, err);
  }
  if (err == 0) {
    err = WEFT_EADDRNOTAVAIL;
    record_failure(he, WEFT_CONNECT_STEP_NO_LOCAL, remote, err);
  }
  return err;
}

static void start_next(weft__he_t *he) {
  while (!he->done && he->next < he->count) {
    size_t i = he->next++;
    const struct sockaddr *addr = (const struct sockaddr *)&he->addrs[i];
    weft__stream_t *s;
    int rc = weft__stream_new(he->loop, WEFT_TRANSPORT_TCP, addr->sa_family, &s);
    if (rc) {
      record_failure(he, WEFT_CONNECT_STEP_SOCKET, addr, rc);
      record_error(he, addr, rc);
      continue;
    }
    rc = bind_local(he, s, addr);
    if (rc == 0) {
      s->connect_req.data = s;
      s->connect_ctx = he;
      s->connect_index = (int)i;
      rc = uv_tcp_connect(&s->connect_req, &s->h.tcp, addr, on_connect);
      rc = rc < 0 ? weft_error_from_uv(rc) : 0;
      if (rc)
        record_failure(he, WEFT_CONNECT_STEP_CONNECT, addr, rc);
    }
    if (rc) {
      record_error(he, addr, rc);
      weft__stream_discard(s);
      continue;
    }
    he->attempts[i] = s;
    he->holds++;
    if (he->delay > 0 && he->next < he->count) {
      /* libuv's clock is cached per iteration: refresh it so the delay is a real one */
      uv_update_time(weft_loop_uv(he->loop));
      uv_timer_start(&he->timer, on_timer, (uint64_t)(he->delay * 1000.0 + 0.5), 0);
    }
    return;
  }
  if (!he->done && he->next >= he->count) {
    for (size_t i = 0; i < he->count; i++)
      if (he->attempts[i])
        return; /* still racing */
    he_fail(he);
  }
}

/* asyncio's order: the first `interleave - 1` of the first family, then one of each
 * family in turn. */
static void interleave_addrs(struct sockaddr_storage *a, size_t n, int interleave) {
  if (interleave <= 0 || n < 2)
    return;
  struct sockaddr_storage *out = malloc(n * sizeof(*out));
  int *fams = malloc(n * sizeof(int));
  char *used = calloc(n, 1);
  if (!out || !fams || !used)
    goto done;
  size_t nfam = 0;
  for (size_t i = 0; i < n; i++) {
    size_t f = 0;
    while (f < nfam && fams[f] != a[i].ss_family)
      f++;
    if (f == nfam)
      fams[nfam++] = a[i].ss_family;
  }
  size_t k = 0;
  for (size_t i = 0; i < n && (int)k < interleave - 1; i++)
    if (a[i].ss_family == fams[0]) {
      out[k++] = a[i];
      used[i] = 1;
    }
  while (k < n) {
    for (size_t f = 0; f < nfam; f++)
      for (size_t i = 0; i < n; i++)
        if (!used[i] && a[i].ss_family == fams[f]) {
          out[k++] = a[i];
          used[i] = 1;
          break;
        }
  }
  memcpy(a, out, n * sizeof(*out));
done:
  free(out);
  free(fams);
  free(used);
}

static int copy_addrs(const struct sockaddr *const *in, size_t n, struct sockaddr_storage **out) {
  *out = NULL;
  if (n == 0)
    return 0;
  *out = calloc(n, sizeof(**out));
  if (!*out)
    return WEFT_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    socklen_t l = in[i] ? weft__sockaddr_len(in[i]) : 0;
    if (l == 0 || in[i]->sa_family == AF_UNIX)
      return WEFT_EAFNOSUPPORT;
    memcpy(&(*out)[i], in[i], l);
  }
  return 0;
}

int weft__he_start(weft_loop_t *loop, const struct sockaddr *const *addrs, size_t count,
                   const struct sockaddr *const *local_addrs, size_t local_count, double delay,
                   int interleave, weft__he_cb cb, void *arg, weft__he_t **out) {
  uv_loop_t *uv = weft_loop_uv(loop);
  if (!uv)
    return WEFT_ECLOSED;
  if (count == 0)
    return WEFT_EINVAL;
  weft__he_t *he = calloc(1, sizeof(*he));
  if (!he)
    return WEFT_ENOMEM;
  int rc = copy_addrs(addrs, count, &he->addrs);
  if (rc == 0)
    rc = copy_addrs(local_addrs, local_count, &he->locals);
  he->attempts = calloc(count, sizeof(*he->attempts));
  if (rc == 0 && !he->attempts)
    rc = WEFT_ENOMEM;
  if (rc) {
    free(he->addrs);
    free(he->locals);
    free(he->attempts);
    free(he);
    return rc;
  }
  he->loop = loop;
  he->count = count;
  he->local_count = local_count;
  he->delay = delay;
  he->cb = cb;
  he->arg = arg;
  if (interleave == 0 && delay > 0)
    interleave = 1;
  interleave_addrs(he->addrs, count, interleave);
  uv_timer_init(uv, &he->timer);
  he->timer.data = he;
  he->holds = 2; /* the timer, and this call: every address may fail right here */
  start_next(he);
  he->holds--;
  if (out)
    *out = he->done ? NULL : he;
  he_maybe_free(he);
  return 0;
}

void weft__he_cancel(weft__he_t *he) {
  if (!he || he->done)
    return;
  he_finish(he, NULL);
  he_maybe_free(he);
}
