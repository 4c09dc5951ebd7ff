/* loop.sendfile over a transport: sendfile(2) straight to the socket of a plain stream
 * transport while the kernel takes it; when the socket is full, one chunk goes through the
 * transport's own write queue and the next sendfile waits for that queue to drain (libuv
 * cannot watch a descriptor its stream handle already watches). Other transports, or a
 * file sendfile(2) refuses, get read + write with the same waiting. */
#include "net.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

typedef struct sf_s {
  weft_transport_t *t;
  weft__stream_t *s; /* the stream transport, or NULL */
  weft_future_t *future;
  int file_fd;
  int64_t offset, count, done;
  int fallback;
  int zero_copy;
  int waiting;
  weft_handle_t *timer;
  char buf[CHUNK];
} sf_t;

static void sf_step(sf_t *sf);
static void sf_drop(void *arg);

void weft__sendfile_fail(weft_future_t *future, int code, int64_t sent) {
  weft__error_detail_t *p = calloc(1, sizeof(*p));
  if (p) {
    p->kind = WEFT__DETAIL_SENDFILE;
    p->sent = sent;
  }
  weft__future_fail_detail(future, code, NULL, p);
}

int64_t weft_sendfile_sent(const weft_future_t *future) {
  if (!future)
    return WEFT_EINVAL;
  const weft__error_detail_t *p = weft__future_error_detail(future, WEFT__DETAIL_SENDFILE);
  return p ? p->sent : 0;
}

static void sf_free(sf_t *sf) {
  weft_future_release(sf->future);
  weft_transport_release(sf->t);
  free(sf);
}

static void sf_finish(sf_t *sf, int rc) {
  if (sf->s) {
    sf->s->drained = NULL;
    sf->s->drained_arg = NULL;
  }
  if (sf->timer) {
    weft_handle_cancel(sf->timer);
    weft_handle_release(sf->timer);
    sf->timer = NULL;
  }
  if (!weft_future_done(sf->future)) {
    if (rc)
      weft__sendfile_fail(sf->future, rc, sf->done);
    else
      weft_future_set_result(sf->future, weft_value_int(sf->done));
  }
  sf_free(sf);
}

static void sf_wake(void *arg) {
  sf_t *sf = arg;
  if (!sf->waiting)
    return;
  sf->waiting = 0;
  if (sf->timer) {
    weft_handle_release(sf->timer);
    sf->timer = NULL;
  }
  sf_step(sf);
}

/* Waits until the transport's queue drains (streams) or, for other transports, polls its
 * buffer size every millisecond: they offer no drain notification to a non-protocol. */
static void sf_wait(sf_t *sf) {
  sf->waiting = 1;
  if (sf->s) {
    sf->s->drained = sf_wake;
    sf->s->drained_arg = sf;
  } else if (weft_call_later(sf->t->loop, 0.001, sf_wake, sf, &sf->timer) != 0) {
    sf_finish(sf, WEFT_ENOMEM);
  } else {
    sf->timer->drop = sf_drop; /* the timer is all that holds sf */
  }
}

static void sf_step(sf_t *sf) {
  for (;;) {
    if (weft_future_done(sf->future)) {
      sf_finish(sf, 0); /* cancelled */
      return;
    }
    if (weft_transport_is_closing(sf->t)) {
      sf_finish(sf, WEFT_ECONNRESET);
      return;
    }
    if (sf->count && sf->done >= sf->count) {
      sf_finish(sf, 0);
      return;
    }
    if (weft_transport_get_write_buffer_size(sf->t) > (sf->zero_copy ? 0 : sf->t->low)) {
      sf_wait(sf);
      return;
    }
    size_t want = sf->zero_copy ? (size_t)1 << 20 : CHUNK;
    if (sf->count && (int64_t)want > sf->count - sf->done)
      want = (size_t)(sf->count - sf->done);
    if (sf->zero_copy) {
      int fd = -1;
      size_t len = sizeof(fd);
      weft_transport_get_extra_info(sf->t, WEFT_INFO_FD, &fd, &len);
      off_t off = (off_t)(sf->offset + sf->done);
      ssize_t n = sendfile(fd, sf->file_fd, &off, want);
      if (n > 0) {
        sf->done += n;
        continue;
      }
      if (n == 0) {
        sf_finish(sf, 0);
        return;
      }
      if (errno == EINTR)
        continue;
      if ((errno == EINVAL || errno == ENOSYS) && sf->done == 0) {
        if (!sf->fallback) {
          sf_finish(sf, WEFT_ESENDFILEUNAVAIL);
          return;
        }
        sf->zero_copy = 0;
        continue;
      }
      if (errno != EAGAIN) {
        sf_finish(sf, -errno);
        return;
      }
      want = want > CHUNK ? CHUNK : want; /* socket full: one chunk through the queue */
    }
    ssize_t n = pread(sf->file_fd, sf->buf, want, (off_t)(sf->offset + sf->done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      sf_finish(sf, n < 0 ? -errno : 0);
      return;
    }
    int rc = weft_transport_write(sf->t, sf->buf, (size_t)n);
    if (rc) {
      sf_finish(sf, rc);
      return;
    }
    sf->done += n;
  }
}

static void sf_start(void *arg) {
  sf_step(arg);
}

/* The loop closed before the start, or while the sendfile waited on its timer: nothing
 * waits for the result any more. */
static void sf_drop(void *arg) {
  sf_t *sf = arg;
  weft_handle_release(sf->timer); /* NULL before the start */
  sf_free(sf);
}

int weft_sendfile(weft_transport_t *t, int file_fd, int64_t offset, int64_t count, int fallback,
                  weft_future_t **out) {
  if (!t || !out || file_fd < 0 || offset < 0 || count < 0)
    return WEFT_EINVAL;
  if (t->closing)
    return WEFT_ECLOSED;
  int stream = t->kind == WEFT_TRANSPORT_TCP || t->kind == WEFT_TRANSPORT_UNIX;
  if (!stream && !fallback)
    return WEFT_ESENDFILEUNAVAIL;
  if (t->kind == WEFT_TRANSPORT_UDP || t->kind == WEFT_TRANSPORT_PIPE_READ)
    return WEFT_ENOTSUP;
  sf_t *sf = calloc(1, sizeof(*sf));
  if (!sf)
    return WEFT_ENOMEM;
  int rc = weft_future_new(t->loop, &sf->future);
  if (rc) {
    free(sf);
    return rc;
  }
  sf->t = weft_transport_retain(t);
  sf->s = stream || t->kind == WEFT_TRANSPORT_PIPE_WRITE ? (weft__stream_t *)t->impl : NULL;
  sf->file_fd = file_fd;
  sf->offset = offset;
  sf->count = count;
  sf->fallback = fallback;
  sf->zero_copy = stream;
  *out = weft_future_retain(sf->future);
  /* Start from the loop so the caller can attach callbacks before bytes move. */
  rc = weft__call_soon_owned(t->loop, sf_start, sf_drop, sf);
  if (rc) {
    weft_future_release(*out);
    sf_finish(sf, rc);
  }
  return rc;
}
