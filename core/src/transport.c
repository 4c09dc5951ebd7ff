/* Transports: the generic layer every transport shares, and the stream transport over a
 * libuv stream (TCP, Unix sockets, pipes). */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- generic layer */

static int stream_write(void *impl, const void *const *bufs, const size_t *lens, size_t count);
static int stream_write_queue_empty(void *impl);
static void ts_flush(void *arg);
static void ts_drop(void *arg);
static void ts_end(weft_transport_t *t, int code, int flush);
static void tr_stop(weft_transport_t *t, int code);
static void tr_deliver_end(weft_transport_t *t, int end);
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

void weft__transport_init(weft_transport_t *t, weft_loop_t *loop, int kind,
                          const weft_transport_ops_t *ops, void *impl) {
  memset(t, 0, sizeof(*t));
  t->refs = 1;
  t->kind = kind;
  t->loop = loop;
  weft__copy_sized(&t->ops, sizeof(t->ops), ops);
  t->impl = impl;
  t->reading = 1;
  t->high = WEFT_WRITE_BUFFER_HIGH_DEFAULT;
  t->low = WEFT_WRITE_BUFFER_HIGH_DEFAULT / 4;
  t->ts.fd = -1;
  t->tr.fd = -1;
  t->ts.post = (weft__post_t){.cb = ts_flush, .drop = ts_drop, .arg = t};
  (void)uv_mutex_init(&t->ts.lock);
}

static void transport_free(weft_transport_t *t) {
  int layered = t->kind == WEFT_TRANSPORT_LAYERED;
  uv_mutex_destroy(&t->ts.lock);
  free(t->ts.buf);
  free(t->ts.spare);
  if (t->ops.free)
    t->ops.free(t->impl);
  if (layered)
    free(t); /* built-in transports are part of their impl, freed just above */
}

void weft__transport_set_protocol(weft_transport_t *t, const weft_protocol_t *p, void *arg) {
  weft__copy_sized(&t->proto, sizeof(t->proto), p);
  t->proto_arg = arg;
}

/* The transport calls its protocol no more: it lets go of the protocol's argument. */
void weft__transport_let_go_arg(weft_transport_t *t) {
  weft_free_fn fn = t->proto.arg_free;
  if (fn == NULL)
    return;
  t->proto.arg_free = NULL;
  void *arg = t->proto_arg;
  t->proto_arg = NULL;
  weft__let_go(t->loop, fn, arg);
}

int weft_transport_new(weft_loop_t *loop, const weft_transport_ops_t *ops, void *impl,
                       const weft_protocol_t *protocol, void *protocol_arg,
                       weft_transport_t **out) {
  if (!loop || !ops || !out)
    return WEFT_EINVAL;
  weft_transport_t *t = malloc(sizeof(*t));
  if (!t)
    return WEFT_ENOMEM;
  weft__transport_init(t, loop, WEFT_TRANSPORT_LAYERED, ops, impl);
  weft__transport_set_protocol(t, protocol, protocol_arg);
  *out = t;
  return 0;
}

void *weft_transport_impl(const weft_transport_t *t) {
  return t ? t->impl : NULL;
}

weft_transport_t *weft_transport_retain(weft_transport_t *t) {
  if (t)
    t->refs++;
  return t;
}

void weft_transport_release(weft_transport_t *t) {
  if (!t || --t->refs > 0)
    return;
  weft__transport_let_go_arg(t); /* a transport that never lost its connection */
  uv_mutex_lock(&t->ts.lock);
  int posted = t->ts.posted;
  uv_mutex_unlock(&t->ts.lock);
  /* A flush posted by another thread still points here: it frees the transport when it
   * runs, or when the closing loop drops it. A closed loop has done one or the other, or
   * dropped it from its ready queue, where it will never run. */
  if (posted && !weft_loop_is_closed(t->loop)) {
    t->ts.orphan = 1;
    return;
  }
  transport_free(t);
}

weft_loop_t *weft_transport_loop(const weft_transport_t *t) {
  return t ? t->loop : NULL;
}

/* ---- protocol calls from a stackful task's stack */

void weft__core_protocol(weft_transport_t *t, const char *data, size_t len,
                         const struct sockaddr *addr, void *arg) {
  (void)t, (void)data, (void)len, (void)addr, (void)arg;
}

/* Whether the protocol may be called now: on the loop's stack, or when it is one of the
 * core's own (a stream's, the TLS layer's raw side), which call registered code only
 * through paths that defer it themselves, and whose flow control must see a write at once
 * (weft_stream_drain right after a write). */
static int protocol_inline(const weft_transport_t *t) {
  return !weft__on_task_stack(t->loop) || t->proto.datagram_received == weft__core_protocol;
}

enum { EV_MADE, EV_DATA, EV_EOF, EV_LOST, EV_PAUSE, EV_RESUME };

/* A protocol event raised on a task's stack, delivered once the loop's stack is back: to
 * the protocol of that moment (a weft_transport_set_protocol since does not reroute it),
 * even if the connection was lost since, as it would have been delivered in place. */
typedef struct {
  weft_transport_t *t;
  weft_protocol_t proto;
  void *proto_arg;
  int what;
  int error;
  size_t len;
  char data[];
} proto_event_t;

static void deliver_data(weft_transport_t *t, const weft_protocol_t *p, void *arg, const char *data,
                         size_t len);

static void proto_event_run(void *arg) {
  proto_event_t *e = arg;
  weft_transport_t *t = e->t;
  const weft_protocol_t *p = &e->proto;
  weft__assert_loop_stack("a protocol callback");
  switch (e->what) {
  case EV_MADE:
    p->connection_made(t, e->proto_arg);
    break;
  case EV_DATA:
    deliver_data(t, p, e->proto_arg, e->data, e->len);
    break;
  case EV_EOF:
    if (!p->eof_received(t, e->proto_arg))
      weft_transport_close(t);
    break;
  case EV_LOST:
    p->connection_lost(t, e->error, e->proto_arg);
    break;
  case EV_PAUSE:
    p->pause_writing(t, e->proto_arg);
    break;
  case EV_RESUME:
    p->resume_writing(t, e->proto_arg);
    break;
  }
  weft_transport_release(t);
  free(e);
}

/* Queues the event; 0 when it will be delivered later, else it must be delivered now. */
static int defer_event(weft_transport_t *t, int what, int error, const char *data, size_t len) {
  proto_event_t *e = malloc(sizeof *e + len);
  if (e == NULL)
    return WEFT_ENOMEM;
  *e = (proto_event_t){weft_transport_retain(t), t->proto, t->proto_arg, what, error, len};
  if (len > 0)
    memcpy(e->data, data, len);
  int rc = weft__defer(t->loop, proto_event_run, e);
  if (rc != 0) {
    t->refs--; /* never the last: the caller holds one */
    free(e);
  }
  return rc;
}

static size_t buffer_size(const weft_transport_t *t) {
  return t->ops.get_write_buffer_size ? t->ops.get_write_buffer_size(t->impl) : 0;
}

void weft_transport_update_write_flow(weft_transport_t *t) {
  if (!t || t->lost)
    return;
  size_t size = buffer_size(t);
  if (t->ts.shared) {
    uv_mutex_lock(&t->ts.lock);
    t->ts.queued = size;
    uv_mutex_unlock(&t->ts.lock);
  }
  /* asyncio: pause strictly above high, resume at or below low, each only once. */
  if (!t->writing_paused && size > t->high) {
    t->writing_paused = 1;
    if (t->proto.pause_writing &&
        (protocol_inline(t) || defer_event(t, EV_PAUSE, 0, NULL, 0) != 0)) {
      weft__assert_loop_stack_unless(protocol_inline(t), "pause_writing");
      t->proto.pause_writing(t, t->proto_arg);
    }
  } else if (t->writing_paused && size <= t->low) {
    t->writing_paused = 0;
    if (t->proto.resume_writing &&
        (protocol_inline(t) || defer_event(t, EV_RESUME, 0, NULL, 0) != 0)) {
      weft__assert_loop_stack_unless(protocol_inline(t), "resume_writing");
      t->proto.resume_writing(t, t->proto_arg);
    }
  }
}

int weft_transport_writelines(weft_transport_t *t, const void *const *bufs, const size_t *lens,
                              size_t count) {
  if (!t || (count && (!bufs || !lens)))
    return WEFT_EINVAL;
  if (t->kind == WEFT_TRANSPORT_UDP || t->kind == WEFT_TRANSPORT_PIPE_READ)
    return WEFT_ENOTSUP;
  if (t->eof_written)
    return WEFT_EINVALIDSTATE;
  if (t->closing)
    return WEFT_ECLOSED;
  size_t total = 0;
  for (size_t i = 0; i < count; i++) {
    if (lens[i] && !bufs[i])
      return WEFT_EINVAL;
    total += lens[i];
  }
  if (total == 0)
    return 0;
  if (!t->ops.write)
    return WEFT_ENOTSUP;
  int rc = t->ops.write(t->impl, bufs, lens, count);
  /* A built-in stream whose write went entirely to the kernel has nothing buffered, so the
   * flow check could only find it below the high mark: skip asking (the common case). */
  if (rc == 0 && !t->closing && !t->writing_paused &&
      !(t->ops.write == stream_write && stream_write_queue_empty(t->impl)))
    weft_transport_update_write_flow(t);
  return rc;
}

int weft_transport_write(weft_transport_t *t, const void *data, size_t len) {
  const void *bufs[1] = {data};
  size_t lens[1] = {len};
  return weft_transport_writelines(t, bufs, lens, 1);
}

/* ---- writes from other threads
 *
 * A thread-safe write appends to ts.buf and posts one flush per burst (ts.posted), which
 * hands the bytes to the transport's own write on the loop. On a plain stream socket whose
 * loop side has nothing queued (ts.fd), the writing thread sends itself first, as Go's net
 * does, and only what the socket does not take goes through the loop. The loop's own
 * writes to a shared transport take ts.lock (stream_write), so the two never interleave
 * inside a write, and no thread sends while ts.buf holds bytes or a flush is under way:
 * everything leaves in the order it was accepted. */

static void stream_ts_share(weft__stream_t *s);
static void stream_ts_sync(weft__stream_t *s);
static void stream_force_close(weft__stream_t *s, int error);

/* Spare buffers above this go back to the allocator: an idle connection keeps little. */
#define TS_SPARE_MAX (64 * 1024)
/* Flush rounds in one callback while writers keep adding: then the flush posts itself
 * again, behind the loop's other work. */
#define TS_ROUNDS 16

static int is_stream(const weft_transport_t *t) {
  return t->ops.write == stream_write;
}

/* ts.lock held. Room for `more` bytes after ts.len. */
static int ts_reserve(weft__tswrite_t *ts, size_t more) {
  if (ts->cap - ts->len >= more)
    return 0;
  size_t need = ts->len + more;
  if (need < more)
    return WEFT_ENOMEM;
  size_t cap = ts->cap ? ts->cap : 4096;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *p = realloc(ts->buf, cap);
  if (p == NULL)
    return WEFT_ENOMEM;
  ts->buf = p;
  ts->cap = cap;
  return 0;
}

/* ts.lock held. Makes sure a flush will run (0, or WEFT_ECLOSED once the loop is). */
static int ts_post(weft_transport_t *t) {
  if (t->ts.posted)
    return 0;
  int rc = weft__loop_post_node(t->loop, &t->ts.post);
  if (rc == 0)
    t->ts.posted = 1;
  return rc;
}

/* ts.lock held. The connection cannot go on (a direct send failed, or memory ran out after
 * part of a write was sent): later writes fail, and the loop ends the connection. */
static int ts_fail(weft_transport_t *t, int code) {
  weft__tswrite_t *ts = &t->ts;
  if (ts->error == 0)
    ts->error = code;
  ts->send_error = code;
  ts->fd = -1;
  (void)ts_post(t);
  return code;
}

/* ts.lock held, ts.error 0, len > 0. */
static int ts_write_locked(weft_transport_t *t, const char *data, size_t len) {
  weft__tswrite_t *ts = &t->ts;
  size_t sent = 0;
  if (ts->fd >= 0 && ts->len == 0 && !ts->posted) {
    ssize_t n;
    do
      n = send(ts->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
      return ts_fail(t, weft_error_from_uv(-errno));
    if (n == (ssize_t)len)
      return 0;
    if (n > 0)
      sent = (size_t)n;
  }
  int rc = ts_reserve(ts, len - sent);
  if (rc == 0) {
    memcpy(ts->buf + ts->len, data + sent, len - sent);
    ts->len += len - sent;
    rc = ts_post(t);
    if (rc != 0)
      ts->len -= len - sent;
  }
  /* Part of it is on the wire already: the stream would have a hole. */
  if (rc != 0 && sent > 0)
    return ts_fail(t, rc);
  return rc;
}

int64_t weft_transport_write_threadsafe(weft_transport_t *t, const void *data, size_t len) {
  if (!t || (len > 0 && !data))
    return WEFT_EINVAL;
  if (t->kind == WEFT_TRANSPORT_UDP || t->kind == WEFT_TRANSPORT_PIPE_READ)
    return WEFT_ENOTSUP;
  weft__tswrite_t *ts = &t->ts;
  uv_mutex_lock(&ts->lock);
  int64_t rc = ts->error;
  if (rc == 0 && len > 0)
    rc = ts_write_locked(t, data, len);
  if (rc == 0)
    rc = (int64_t)(ts->len + ts->queued);
  uv_mutex_unlock(&ts->lock);
  return rc;
}

/* Loop thread: no more writes from other threads (closing, EOF written, lost), so no more
 * sends on the descriptor either. With `flush`, the bytes they had written go first
 * (close and write_eof send what was accepted); otherwise they go with the connection. */
static void ts_end(weft_transport_t *t, int code, int flush) {
  weft__tswrite_t *ts = &t->ts;
  uv_mutex_lock(&ts->lock);
  if (ts->error == 0)
    ts->error = code;
  ts->fd = -1;
  char *buf = ts->buf;
  size_t len = ts->len;
  ts->buf = NULL;
  ts->len = ts->cap = 0;
  uv_mutex_unlock(&ts->lock);
  if (flush && len > 0)
    weft_transport_write(t, buf, len);
  free(buf);
}

static void ts_flush(void *arg) {
  weft_transport_t *t = arg;
  weft__tswrite_t *ts = &t->ts;
  if (ts->orphan) {
    transport_free(t);
    return;
  }
  weft_transport_retain(t); /* a protocol called below may let go of the last reference */
  uv_mutex_lock(&ts->lock);
  if (!ts->shared) {
    ts->shared = 1;
    if (is_stream(t))
      stream_ts_share(t->impl);
  }
  for (int round = 0;; round++) {
    int send_error = ts->send_error;
    char *buf = ts->buf;
    size_t len = ts->len, cap = ts->cap;
    if (len == 0 && send_error == 0) {
      ts->posted = 0;
      if (is_stream(t))
        stream_ts_sync(t->impl);
      else if (!t->lost) /* a layer need not report each shrink of its buffer */
        ts->queued = buffer_size(t);
      break;
    }
    if (round == TS_ROUNDS) {
      if (weft__loop_post_node(t->loop, &ts->post) != 0)
        ts->posted = 0;
      break;
    }
    /* Writers fill the spare meanwhile; ts.posted keeps them from sending past these. */
    ts->send_error = 0;
    ts->buf = ts->spare;
    ts->cap = ts->spare_cap;
    ts->len = 0;
    ts->spare = NULL;
    ts->spare_cap = 0;
    uv_mutex_unlock(&ts->lock);
    int rc = 0;
    if (send_error != 0) {
      if (is_stream(t))
        stream_force_close(t->impl, send_error);
      else
        weft_transport_abort(t);
    } else {
      rc = weft_transport_write(t, buf, len);
      if (rc == WEFT_ENOMEM)
        weft_transport_abort(t); /* bytes already accepted are lost: end the stream here */
    }
    uv_mutex_lock(&ts->lock);
    if (rc != 0 && ts->error == 0)
      ts->error = rc;
    if (ts->spare == NULL && cap <= TS_SPARE_MAX) {
      ts->spare = buf;
      ts->spare_cap = cap;
      buf = NULL;
    }
    free(buf);
  }
  int end = t->tr.end_due ? t->tr.end : 0;
  t->tr.end_due = 0;
  uv_mutex_unlock(&ts->lock);
  if (end != 0)
    tr_deliver_end(t, end);
  weft_transport_release(t);
}

void weft__transport_end_threadsafe(weft_transport_t *t, int code, int flush) {
  ts_end(t, code, flush);
}

/* The loop closes with the flush still posted: the connections were closed first. */
static void ts_drop(void *arg) {
  weft_transport_t *t = arg;
  if (t->ts.orphan) {
    transport_free(t);
    return;
  }
  uv_mutex_lock(&t->ts.lock);
  t->ts.posted = 0;
  t->ts.len = 0;
  uv_mutex_unlock(&t->ts.lock);
}

/* ---- reads from other threads
 *
 * The mirror of the writes above, for a runtime that waits for readability itself (Go's
 * netpoller): once the loop hands a plain stream socket's reading over, other threads read
 * it under ts.lock, so a close on the loop (which takes the lock before the descriptor
 * goes) never races a read. The end they meet is kept, repeated to later reads, and handed
 * to the loop by the tswrite post, which delivers it as on_read would have. */

/* Loop thread: no more reads from other threads (the transport is closing). */
static void tr_stop(weft_transport_t *t, int code) {
  uv_mutex_lock(&t->ts.lock);
  t->tr.fd = -1;
  if (t->tr.error == 0)
    t->tr.error = code;
  uv_mutex_unlock(&t->ts.lock);
}

/* Loop thread: the end a reading thread met (1: EOF, else its error), as on_read. */
static void tr_deliver_end(weft_transport_t *t, int end) {
  if (t->closing || !is_stream(t))
    return; /* connection_lost is on its way already */
  if (end < 0) {
    stream_force_close(t->impl, end);
    return;
  }
  if (!weft_transport_emit_eof(t) && !t->closing)
    weft_transport_close(t);
}

int weft_transport_set_read_threadsafe(weft_transport_t *t, int on) {
  if (!t)
    return WEFT_EINVAL;
  if (!is_stream(t) || (t->kind != WEFT_TRANSPORT_TCP && t->kind != WEFT_TRANSPORT_UNIX))
    return WEFT_ENOTSUP;
  if (t->closing)
    return WEFT_ECLOSED;
  weft__stream_t *s = t->impl;
  if (on) {
    if (t->tr.fd >= 0)
      return 0;
    uv_os_fd_t fd;
    int type = 0;
    socklen_t len = sizeof type;
    if (!s->started || uv_fileno(&s->h.handle, &fd) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
      return WEFT_ENOTSUP;
    uv_read_stop(&s->h.stream);
    uv_mutex_lock(&t->ts.lock);
    t->tr.fd = fd;
    uv_mutex_unlock(&t->ts.lock);
    return 0;
  }
  if (t->tr.fd < 0)
    return 0;
  uv_mutex_lock(&t->ts.lock);
  t->tr.fd = -1;
  int ended = t->tr.end != 0;
  uv_mutex_unlock(&t->ts.lock);
  if (ended || !t->reading)
    return 0;
  int rc = uv_read_start(&s->h.stream, on_alloc, on_read);
  return rc < 0 ? weft_error_from_uv(rc) : 0;
}

int64_t weft_transport_read_threadsafe(weft_transport_t *t, void *buf, size_t len) {
  if (!t || !buf || len == 0)
    return WEFT_EINVAL;
  weft__tsread_t *tr = &t->tr;
  uv_mutex_lock(&t->ts.lock);
  int64_t rc;
  if (tr->end != 0)
    rc = tr->end == 1 ? 0 : tr->end;
  else if (tr->fd < 0)
    rc = tr->error ? tr->error : WEFT_EINVALIDSTATE;
  else {
    ssize_t n;
    do
      n = recv(tr->fd, buf, len, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n > 0)
      rc = n;
    else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      rc = WEFT_EAGAIN;
    else {
      tr->end = n == 0 ? 1 : weft_error_from_uv(-errno);
      rc = n == 0 ? 0 : tr->end;
      tr->end_due = 1;
      if (rc < 0 && t->ts.error == 0) { /* a reset ends the writes as well, from now on */
        t->ts.error = (int)rc;
        t->ts.fd = -1;
      }
      (void)ts_post(t); /* fails only on a closed loop, which has closed the transport */
    }
  }
  uv_mutex_unlock(&t->ts.lock);
  return rc;
}

int weft_transport_write_eof(weft_transport_t *t) {
  if (!t)
    return WEFT_EINVAL;
  if (t->closing)
    return WEFT_ECLOSED;
  if (t->eof_written)
    return 0;
  if (!t->ops.write_eof || !weft_transport_can_write_eof(t))
    return WEFT_ENOTSUP;
  ts_end(t, WEFT_EINVALIDSTATE, 1);
  if (t->closing || t->eof_written) /* the flush's pause_writing closed it, say */
    return t->closing ? WEFT_ECLOSED : 0;
  int rc = t->ops.write_eof(t->impl);
  if (rc == 0)
    t->eof_written = 1;
  return rc;
}

int weft_transport_can_write_eof(const weft_transport_t *t) {
  if (!t || !t->ops.can_write_eof)
    return 0;
  return t->ops.can_write_eof(t->impl) != 0;
}

int weft_transport_close(weft_transport_t *t) {
  if (!t)
    return WEFT_EINVAL;
  if (t->closing)
    return 0;
  ts_end(t, WEFT_ECLOSED, 1);
  tr_stop(t, WEFT_ECLOSED);
  if (t->closing) /* the flush's pause_writing closed it already */
    return 0;
  t->closing = 1;
  return t->ops.close ? t->ops.close(t->impl) : WEFT_ENOTSUP;
}

int weft_transport_abort(weft_transport_t *t) {
  if (!t)
    return WEFT_EINVAL;
  if (t->lost)
    return 0;
  ts_end(t, WEFT_ECLOSED, 0);
  tr_stop(t, WEFT_ECLOSED);
  t->closing = 1;
  if (t->ops.abort)
    return t->ops.abort(t->impl);
  return t->ops.close ? t->ops.close(t->impl) : WEFT_ENOTSUP;
}

int weft_transport_is_closing(const weft_transport_t *t) {
  return t ? t->closing : 0;
}

int weft_transport_pause_reading(weft_transport_t *t) {
  if (!t)
    return WEFT_EINVAL;
  if (t->closing || !t->reading)
    return 0;
  if (!t->ops.pause_reading)
    return WEFT_ENOTSUP;
  int rc = t->ops.pause_reading(t->impl);
  if (rc == 0)
    t->reading = 0;
  return rc;
}

int weft_transport_resume_reading(weft_transport_t *t) {
  if (!t)
    return WEFT_EINVAL;
  if (t->closing || t->reading)
    return 0;
  if (!t->ops.resume_reading)
    return WEFT_ENOTSUP;
  t->reading = 1;
  int rc = t->ops.resume_reading(t->impl);
  if (rc != 0)
    t->reading = 0;
  return rc;
}

int weft_transport_is_reading(const weft_transport_t *t) {
  return t && !t->closing && t->reading;
}

int weft_transport_set_write_buffer_limits(weft_transport_t *t, int64_t high, int64_t low) {
  if (!t)
    return WEFT_EINVAL;
  if (high < 0)
    high =
        low >= 0 && low > WEFT_WRITE_BUFFER_HIGH_DEFAULT ? 4 * low : WEFT_WRITE_BUFFER_HIGH_DEFAULT;
  if (low < 0)
    low = high / 4;
  if (low > high)
    return WEFT_EINVAL;
  t->high = (size_t)high;
  t->low = (size_t)low;
  if (t->ops.set_write_buffer_limits) {
    int rc = t->ops.set_write_buffer_limits(t->impl, t->high, t->low);
    if (rc)
      return rc;
  }
  weft_transport_update_write_flow(t);
  return 0;
}

int weft_transport_get_write_buffer_limits(const weft_transport_t *t, size_t *low_out,
                                           size_t *high_out) {
  if (!t)
    return WEFT_EINVAL;
  if (low_out)
    *low_out = t->low;
  if (high_out)
    *high_out = t->high;
  return 0;
}

size_t weft_transport_get_write_buffer_size(const weft_transport_t *t) {
  return t ? buffer_size(t) : 0;
}

void *weft_transport_get_protocol_arg(const weft_transport_t *t) {
  return t ? t->proto_arg : NULL;
}

int weft_transport_set_protocol(weft_transport_t *t, const weft_protocol_t *protocol, void *arg) {
  if (!t || !protocol)
    return WEFT_EINVAL;
  void *old = t->proto_arg;
  weft_free_fn old_free = t->proto.arg_free;
  weft__transport_set_protocol(t, protocol, arg);
  if (t->lost) /* nothing will be called: the new argument is let go at once */
    weft__transport_let_go_arg(t);
  if (old != arg)
    weft__let_go(t->loop, old_free, old);
  return 0;
}

int weft_transport_get_extra_info(const weft_transport_t *t, int key, void *buf, size_t *len) {
  if (!t || !len || (*len && !buf))
    return WEFT_EINVAL;
  if (key == WEFT_INFO_KIND) {
    if (*len < sizeof(int)) {
      *len = sizeof(int);
      return WEFT_ENOBUFS;
    }
    memcpy(buf, &t->kind, sizeof(int));
    *len = sizeof(int);
    return 0;
  }
  if (!t->ops.get_extra_info)
    return WEFT_ENOENT;
  return t->ops.get_extra_info(t->impl, key, buf, len);
}

void weft_transport_emit_connection_made(weft_transport_t *t) {
  if (!t || t->made)
    return;
  t->made = 1;
  if (t->proto.connection_made &&
      (protocol_inline(t) || defer_event(t, EV_MADE, 0, NULL, 0) != 0)) {
    weft__assert_loop_stack_unless(protocol_inline(t), "connection_made");
    t->proto.connection_made(t, t->proto_arg);
  }
}

void weft_transport_emit_data(weft_transport_t *t, const char *data, size_t len) {
  if (!t || t->lost || len == 0)
    return;
  if (!protocol_inline(t) && defer_event(t, EV_DATA, 0, data, len) == 0)
    return;
  weft__assert_loop_stack_unless(protocol_inline(t), "data_received");
  deliver_data(t, &t->proto, t->proto_arg, data, len);
}

static void deliver_data(weft_transport_t *t, const weft_protocol_t *p, void *arg, const char *data,
                         size_t len) {
  int lost = t->lost; /* set already when the delivery was put off */
  if (p->get_buffer) {
    /* A buffered protocol fed by a layer: copy through its buffers. */
    while (len > 0 && t->lost == lost) {
      size_t cap = 0;
      char *dst = p->get_buffer(t, len, &cap, arg);
      if (!dst || cap == 0) {
        weft_transport_abort(t);
        return;
      }
      size_t n = cap < len ? cap : len;
      memcpy(dst, data, n);
      if (p->buffer_updated)
        p->buffer_updated(t, n, arg);
      data += n;
      len -= n;
    }
  } else if (p->data_received) {
    char *own = p->read_into ? p->read_into(t, len, arg) : NULL;
    if (own) {
      memcpy(own, data, len);
      data = own;
    }
    p->data_received(t, data, len, arg);
  }
}

int weft_transport_emit_eof(weft_transport_t *t) {
  if (!t)
    return WEFT_EINVAL;
  if (t->lost || !t->proto.eof_received)
    return 0;
  /* Put off, the protocol cannot answer now: the transport stays open until it does, and
   * closes then if it says so. */
  if (!protocol_inline(t) && defer_event(t, EV_EOF, 0, NULL, 0) == 0)
    return 1;
  weft__assert_loop_stack_unless(protocol_inline(t), "eof_received");
  return t->proto.eof_received(t, t->proto_arg);
}

void weft_transport_emit_connection_lost(weft_transport_t *t, int error) {
  if (!t || t->lost)
    return;
  ts_end(t, error ? error : WEFT_ECLOSED, 0);
  tr_stop(t, error ? error : WEFT_ECLOSED);
  t->closing = 1;
  t->lost = 1;
  if (t->made && t->proto.connection_lost &&
      (protocol_inline(t) || defer_event(t, EV_LOST, error, NULL, 0) != 0)) {
    weft__assert_loop_stack_unless(protocol_inline(t), "connection_lost");
    t->proto.connection_lost(t, error, t->proto_arg);
  }
  weft__transport_let_go_arg(t);
}

/* ---- Closing
 *
 * asyncio's transports schedule connection_lost with call_soon the moment they begin to
 * close (close() with nothing buffered, abort(), a fatal error, an end of stream the
 * protocol does not keep open, the flush a close() waited for), so it runs in the next
 * iteration, behind what was scheduled before the close and ahead of what comes after.
 * The core does the same with a ready-queue entry; the memory and the descriptor are only
 * let go once libuv has also run the handle's close callback, which is later in that
 * iteration (the close phase) or, for a handle closed from a close callback, in the next
 * one. Each transport waits on a per-loop list for both, behind those closed before it:
 * libuv runs close callbacks last in, first out, and the losses keep the closes' order. */

static void deliver_losses(weft_loop_t *loop) {
  weft__callback_enter(loop); /* from a handle's close callback too: connection_lost */
  while (loop->closing_head && loop->closing_head->close_done && loop->closing_head->lost_due) {
    weft_transport_t *first = loop->closing_head;
    loop->closing_head = first->closing_next;
    if (loop->closing_head == NULL)
      loop->closing_tail = NULL;
    first->gone(first);
  }
  weft__callback_leave(loop);
}

/* The ready-queue entry holds no reference: the transport is only freed by `gone`, which
 * waits for it, unless the loop closes, which drops the entry unrun. */
static void lost_turn(void *arg) {
  weft_transport_t *t = arg;
  t->lost_due = 1;
  deliver_losses(t->loop);
}

void weft__transport_closing(weft_transport_t *t, void (*gone)(weft_transport_t *t)) {
  weft_loop_t *loop = t->loop;
  t->gone = gone;
  t->closing_next = NULL;
  if (loop->closing_tail)
    loop->closing_tail->closing_next = t;
  else
    loop->closing_head = t;
  loop->closing_tail = t;
  weft__ready_t entry = {.fn.plain = lost_turn, .arg = t};
  if (!t->lost_due && weft__loop_push_ready(loop, &entry) != 0)
    t->lost_due = 1; /* no room, or a closed loop: it comes with the close callback */
}

void weft__transport_handle_closed(weft_transport_t *t) {
  t->close_done = 1;
  deliver_losses(t->loop);
}

void weft__transport_lost_due(weft_transport_t *t) {
  t->lost_due = 1;
  if (t->gone != NULL) /* already closing: it may be the one the others wait for */
    deliver_losses(t->loop);
}

static void release_transport_value(void *p) {
  weft_transport_release(p);
}

int weft__future_set_transport(weft_future_t *future, weft_transport_t *t) {
  if (weft_future_done(future))
    return 0;
  weft_transport_retain(t);
  weft_future_set_result(future,
                         weft__value_object(WEFT_VALUE_TRANSPORT, t, release_transport_value));
  return 1;
}

/* ---------------------------------------------------------------- stream transport */

/* One read buffer per thread for protocols that take data_received: reads never nest, and
 * sharing it keeps an idle connection from holding any. It lives while any stream
 * transport on the thread does. 256 KiB, as asyncio's and uvloop's reads: a 100 KiB message
 * then arrives in one data_received instead of two, which halves the calls into a binding's
 * language at that size.
 *
 * A protocol that copies what it reads into memory of its own (read_into) gets large reads
 * there directly: after a read of LARGE_READ or more, the next one asks the descriptor how
 * much is waiting (FIONREAD, one cheap system call, dearer than copying a small read) and
 * reads exactly that, plus one byte so the read comes out short and libuv does not try
 * again only to find nothing. */
#define READ_BUF_SIZE (256 * 1024)
#define LARGE_READ (64 * 1024)
static _Thread_local char *read_buf;
static _Thread_local size_t stream_count;

typedef struct write_req_s {
  uv_write_t req;
  weft__stream_t *s;
  size_t len;
  char data[];
} write_req_t;

static void stream_free_impl(void *impl);
static void stream_close_now(weft__closable_t *c);
static int stream_write(void *impl, const void *const *bufs, const size_t *lens, size_t count);
static int stream_write_eof(void *impl);
static int stream_can_write_eof(void *impl);
static int stream_close(void *impl);
static int stream_abort(void *impl);
static int stream_pause_reading(void *impl);
static int stream_resume_reading(void *impl);
static size_t stream_buffer_size(void *impl);
static int stream_extra_info(void *impl, int key, void *buf, size_t *len);

static const weft_transport_ops_t stream_ops = {
    .size = sizeof(weft_transport_ops_t),
    .write = stream_write,
    .write_eof = stream_write_eof,
    .can_write_eof = stream_can_write_eof,
    .close = stream_close,
    .abort = stream_abort,
    .pause_reading = stream_pause_reading,
    .resume_reading = stream_resume_reading,
    .get_write_buffer_size = stream_buffer_size,
    .get_extra_info = stream_extra_info,
    .free = stream_free_impl,
};

int weft__stream_new(weft_loop_t *loop, int kind, int tcp_family, weft__stream_t **out) {
  uv_loop_t *uv = weft_loop_uv(loop);
  if (!uv)
    return WEFT_ECLOSED;
  weft__stream_t *s = calloc(1, sizeof(*s));
  if (!s)
    return WEFT_ENOMEM;
  if (!read_buf) {
    read_buf = malloc(READ_BUF_SIZE);
    if (!read_buf) {
      free(s);
      return WEFT_ENOMEM;
    }
  }
  stream_count++;
  weft__transport_init(&s->base, loop, kind, &stream_ops, s);
  s->base.refs = 2; /* the caller's, and the handle's until it is closed */
  int rc;
  if (kind == WEFT_TRANSPORT_TCP)
    rc = uv_tcp_init_ex(uv, &s->h.tcp, tcp_family ? (unsigned)tcp_family : AF_UNSPEC);
  else
    rc = uv_pipe_init(uv, &s->h.pipe, 0);
  if (rc < 0) {
    s->base.refs = 0;
    uv_mutex_destroy(&s->base.ts.lock);
    stream_free_impl(s);
    return weft_error_from_uv(rc);
  }
  s->h.handle.data = s;
  s->closable.close_now = stream_close_now;
  weft__loop_track(loop, &s->closable);
  s->can_read = kind != WEFT_TRANSPORT_PIPE_WRITE;
  s->can_write = kind != WEFT_TRANSPORT_PIPE_READ;
  s->read_fd = -1;
  s->ts_socket = -1;
  *out = s;
  return 0;
}

int weft__stream_open_fd(weft__stream_t *s, int fd) {
  int rc = s->base.kind == WEFT_TRANSPORT_TCP ? uv_tcp_open(&s->h.tcp, fd)
                                              : uv_pipe_open(&s->h.pipe, fd);
  return rc < 0 ? weft_error_from_uv(rc) : 0;
}

void weft__tcp_set_nodelay(weft__stream_t *s) {
  uv_tcp_nodelay(&s->h.tcp, 1);
}

static void stream_free_impl(void *impl) {
  weft__stream_t *s = impl;
  free(s);
  if (--stream_count == 0) {
    free(read_buf);
    read_buf = NULL;
  }
}

static void stream_lost(weft_transport_t *t) {
  weft__stream_t *s = (weft__stream_t *)t;
  weft__loop_untrack(&s->closable);
  if (s->drained)
    s->drained(s->drained_arg); /* a sendfile waiting on it sees the transport gone */
  if (s->started)
    weft_transport_emit_connection_lost(&s->base, s->lost_error);
  s->base.lost = 1;
  if (s->on_gone)
    s->on_gone(s);
  weft_transport_release(&s->base); /* the connection's own reference */
}

static void on_handle_closed(uv_handle_t *h) {
  weft__stream_t *s = h->data;
  weft__transport_handle_closed(&s->base);
}

static void on_hup_closed(uv_handle_t *h) {
  free(h);
}

/* The duplicate must go with the transport: it would keep the pipe open for the reader. */
static void hup_stop(weft__stream_t *s) {
  if (!s->hup)
    return;
  if (!uv_is_closing((uv_handle_t *)s->hup)) /* a closing loop may have closed it already */
    uv_close((uv_handle_t *)s->hup, on_hup_closed);
  close(s->hup_fd);
  s->hup = NULL;
  s->hup_fd = -1;
}

/* Closes the handle now: pending writes are cancelled, connection_lost(error) follows. */
static void stream_force_close(weft__stream_t *s, int error) {
  if (!s->handle_closing) { /* before uv_close closes the socket */
    ts_end(&s->base, error ? error : WEFT_ECLOSED, 0);
    tr_stop(&s->base, error ? error : WEFT_ECLOSED);
  }
  s->base.closing = 1;
  if (s->handle_closing)
    return;
  s->handle_closing = 1;
  s->lost_error = error;
  hup_stop(s);
  /* weft_loop_close closes the handles still open; a write completing as it does so must
   * not close this one again. */
  if (uv_is_closing(&s->h.handle))
    return;
  if (s->can_read)
    uv_read_stop(&s->h.stream);
  weft__transport_closing(&s->base, stream_lost);
  uv_close(&s->h.handle, on_handle_closed);
}

/* The loop is closing: its ready queue runs no more. */
static void stream_close_now(weft__closable_t *c) {
  weft__stream_t *s = (weft__stream_t *)((char *)c - offsetof(weft__stream_t, closable));
  stream_force_close(s, WEFT_ECLOSED);
  weft__transport_lost_due(&s->base); /* may free s */
}

/* The reader of a write pipe is gone (the descriptor reports an error or hang-up, or, for a
 * socket, is readable: asyncio's rule). Data still queued can never arrive: EPIPE then. */
static void on_hup(uv_poll_t *p, int status, int events) {
  weft__stream_t *s = p->data;
  (void)status;
  (void)events;
  stream_force_close(s, s->pending_writes ? WEFT_EPIPE : 0);
}

/* Write pipes over a FIFO or a socket learn that the reader closed its end, as asyncio's
 * do; other descriptors (a terminal) have no such signal. Best effort: without the
 * watcher the transport still works, and a write then reports EPIPE. */
static void hup_start(weft__stream_t *s) {
  uv_os_fd_t fd;
  struct stat st;
  if (uv_fileno(&s->h.handle, &fd) < 0 || fstat(fd, &st) != 0 ||
      !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
    return;
  uv_poll_t *p = malloc(sizeof(*p));
  int dup_fd = p ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;
  if (dup_fd < 0) {
    free(p);
    return;
  }
  int events = S_ISSOCK(st.st_mode) ? UV_READABLE | UV_DISCONNECT : UV_DISCONNECT;
  if (uv_poll_init(s->h.handle.loop, p, dup_fd) < 0) {
    free(p);
    close(dup_fd);
    return;
  }
  p->data = s;
  s->hup = p;
  s->hup_fd = dup_fd;
  if (uv_poll_start(p, events, on_hup) < 0)
    hup_stop(s);
}

void weft__stream_discard(weft__stream_t *s) {
  s->started = 0;
  stream_force_close(s, 0);
  weft_transport_release(&s->base);
}

/* 1 with *buf set to the memory the protocol's read_into gave for what the descriptor has
 * waiting, 0 for the shared buffer. Never inlined: its locals would give on_alloc, which
 * every read of every stream runs, a stack frame and a stack-protector check. */
__attribute__((noinline)) static int read_into_waiting(weft__stream_t *s, uv_buf_t *buf) {
  weft_transport_t *t = &s->base;
  int waiting = 0;
  if (!t->proto.read_into || s->read_fd < 0 || ioctl(s->read_fd, FIONREAD, &waiting) != 0 ||
      waiting < LARGE_READ)
    return 0;
  size_t size = (size_t)waiting < READ_BUF_SIZE ? (size_t)waiting + 1 : READ_BUF_SIZE;
  char *p = t->proto.read_into(t, size, t->proto_arg);
  if (!p)
    return 0;
  buf->base = p;
  buf->len = size;
  return 1;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  weft__assert_loop_stack("get_buffer"); /* a libuv callback: always the loop's stack */
  weft__stream_t *s = h->data;
  weft_transport_t *t = &s->base;
  if (t->proto.get_buffer) {
    size_t cap = 0;
    char *p = t->proto.get_buffer(t, hint, &cap, t->proto_arg);
    buf->base = p;
    buf->len = p ? cap : 0;
    return;
  }
  if (s->large_reads) {
    s->large_reads = 0;
    if (read_into_waiting(s, buf))
      return;
  }
  buf->base = read_buf; /* not uv_buf_init: a call into libuv on every read */
  buf->len = READ_BUF_SIZE;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  weft__assert_loop_stack("data_received");
  weft__stream_t *s = stream->data;
  weft_transport_t *t = &s->base;
  /* The transport's memory outlives the callback (its handle's close callback frees it),
   * and so does the loop, whose close is refused until the callback returns. */
  weft_loop_t *loop = t->loop;
  if (nread > 0) {
    weft__callback_enter(loop);
    if (t->proto.get_buffer) {
      if (t->proto.buffer_updated)
        t->proto.buffer_updated(t, (size_t)nread, t->proto_arg);
    } else if (t->proto.data_received) {
      if (nread >= LARGE_READ && t->proto.read_into)
        s->large_reads = 1;
      t->proto.data_received(t, buf->base, (size_t)nread, t->proto_arg);
    }
    weft__callback_leave(loop);
    return;
  }
  if (nread == 0)
    return;
  weft__callback_enter(loop);
  if (nread == UV_EOF) {
    uv_read_stop(stream);
    /* A reading thread handed the socket later must not report this end a second time. */
    uv_mutex_lock(&t->ts.lock);
    if (t->tr.end == 0)
      t->tr.end = 1;
    uv_mutex_unlock(&t->ts.lock);
    int keep = weft_transport_emit_eof(t);
    if (s->base.kind == WEFT_TRANSPORT_PIPE_READ)
      stream_force_close(s, 0); /* a read pipe is done at EOF, whatever the protocol says */
    else if (!keep)
      weft_transport_close(t);
  } else {
    /* A read error (reset, or no buffer from a buffered protocol) ends the connection. */
    stream_force_close(s, weft_error_from_uv((int)nread));
  }
  weft__callback_leave(loop);
}

int weft__stream_start(weft__stream_t *s, const weft_protocol_t *p, void *arg) {
  weft__transport_set_protocol(&s->base, p, arg);
  s->base.reading = s->can_read;
  /* Reading starts before connection_made (nothing is read before we return to libuv), so
   * a descriptor that cannot be read fails here, with no protocol event at all. */
  if (s->can_read) {
    int rc = uv_read_start(&s->h.stream, on_alloc, on_read);
    if (rc < 0)
      return weft_error_from_uv(rc);
    uv_os_fd_t fd;
    if (uv_fileno(&s->h.handle, &fd) == 0)
      s->read_fd = fd;
  }
  if (s->base.kind == WEFT_TRANSPORT_PIPE_WRITE)
    hup_start(s);
  s->started = 1;
  weft_transport_emit_connection_made(&s->base);
  if (s->can_read && (!s->base.reading || s->base.closing) && !s->handle_closing)
    uv_read_stop(&s->h.stream); /* connection_made paused or closed it */
  return 0;
}

/* ---- Transports made from a descriptor
 *
 * The transport starts from the loop, so the future completes after connection_made, as
 * asyncio's. Until then the scheduled start owns the future, the caller's reference to the
 * half-made transport and the protocol's argument; a loop closed first lets go of them. */
typedef struct fd_op_s {
  weft_future_t *future;
  weft_transport_t *t; /* NULL once the descriptor was refused: the caller kept everything */
  const weft__fd_kind_t *kind;
  weft_protocol_t proto;
  void *arg;
} fd_op_t;

/* A start that never happens (cancelled, or its loop closed first) closes the descriptor
 * and is over with the protocol's argument: no transport took it. */
static void fd_abandon(fd_op_t *op) {
  weft_loop_t *loop = op->t->loop;
  op->kind->discard(op->t); /* may free the transport when the loop is closing */
  weft__let_go(loop, op->proto.arg_free, op->arg);
}

static void fd_op_free(fd_op_t *op) {
  weft_future_release(op->future);
  free(op);
}

static void fd_start(void *arg) {
  fd_op_t *op = arg;
  weft_transport_t *t = op->t;
  if (t == NULL) {
    /* refused after the call was scheduled */
  } else if (weft_future_done(op->future)) {
    fd_abandon(op);
  } else {
    /* The caller learns of a failure here through the future (the descriptor, handed over
     * when the call succeeded, is closed with the transport). */
    int rc = op->kind->start(t, &op->proto, op->arg);
    if (rc) {
      op->kind->discard(t);
      weft_future_set_error(op->future, rc, NULL, NULL, NULL);
    } else {
      weft__future_set_transport(op->future, t);
      weft_transport_release(t);
    }
  }
  fd_op_free(op);
}

/* The loop closed first: its close has closed the transport already (it is on the loop's
 * list of transports), and dropped the call. */
static void fd_drop(void *arg) {
  fd_op_t *op = arg;
  if (op->t != NULL)
    fd_abandon(op);
  fd_op_free(op);
}

int weft__transport_from_fd(weft_transport_t *t, const weft__fd_kind_t *kind, int fd,
                            const weft_protocol_t *protocol, void *arg, weft_future_t **out) {
  weft_loop_t *loop = t->loop;
  fd_op_t *op;
  int rc = weft__op_new(loop, sizeof(*op), offsetof(fd_op_t, future), (void **)&op);
  if (rc) {
    kind->discard(t);
    return rc;
  }
  op->t = t;
  op->kind = kind;
  weft__copy_sized(&op->proto, sizeof(op->proto), protocol);
  op->arg = arg;
  /* Scheduled before the descriptor is adopted: once adopted, only closing the transport
   * would let go of it, and on failure it stays the caller's. */
  rc = weft__call_soon_owned(loop, fd_start, fd_drop, op);
  if (rc) {
    kind->discard(t);
    fd_op_free(op);
    return rc;
  }
  rc = kind->adopt(t, fd);
  if (rc) {
    kind->discard(t);
    op->t = NULL; /* the scheduled call only frees op */
    return rc;
  }
  *out = weft_future_retain(op->future);
  return 0;
}

static int stream_adopt(weft_transport_t *t, int fd) {
  return weft__stream_open_fd((weft__stream_t *)t, fd);
}

static int stream_start_fd(weft_transport_t *t, const weft_protocol_t *p, void *arg) {
  return weft__stream_start((weft__stream_t *)t, p, arg);
}

static void stream_discard_fd(weft_transport_t *t) {
  weft__stream_discard((weft__stream_t *)t);
}

static const weft__fd_kind_t stream_fd_kind = {stream_adopt, stream_start_fd, stream_discard_fd};

int weft__connect_fd(weft_loop_t *loop, int kind, const weft_protocol_t *protocol, void *arg,
                     int fd, int nodelay, weft_future_t **out) {
  if (!loop || !protocol || !out || fd < 0)
    return WEFT_EINVAL;
  weft__stream_t *s;
  int rc = weft__stream_new(loop, kind, 0, &s);
  if (rc == 0)
    rc = weft__transport_from_fd(&s->base, &stream_fd_kind, fd, protocol, arg, out);
  if (rc == 0 && kind == WEFT_TRANSPORT_TCP && nodelay)
    weft__tcp_set_nodelay(s); /* the start holds it */
  return rc;
}

static void after_write(uv_write_t *req, int status) {
  write_req_t *w = (write_req_t *)req;
  weft__stream_t *s = w->s;
  free(w);
  s->pending_writes--;
  if (s->base.ts.shared && s->pending_writes == 0) {
    uv_mutex_lock(&s->base.ts.lock);
    stream_ts_sync(s);
    uv_mutex_unlock(&s->base.ts.lock);
  }
  if (status < 0 && status != UV_ECANCELED) {
    stream_force_close(s, weft_error_from_uv(status));
    return;
  }
  if (s->handle_closing)
    return;
  weft_loop_t *loop = s->base.loop;
  weft__callback_enter(loop); /* resume_writing */
  /* resume_writing comes before the close a flushed buffer was waiting for (asyncio). */
  weft_transport_update_write_flow(&s->base);
  if (s->handle_closing)
    ;
  else if (s->pending_writes == 0 && s->close_after_flush)
    stream_force_close(s, 0);
  else if (s->pending_writes == 0 && s->drained)
    s->drained(s->drained_arg);
  weft__callback_leave(loop);
}

/* Loop thread, ts.lock held: the transport's first flush of bytes from other threads. From
 * now on they may send on a plain stream socket themselves whenever nothing is queued. */
static void stream_ts_share(weft__stream_t *s) {
  if (s->base.kind != WEFT_TRANSPORT_TCP && s->base.kind != WEFT_TRANSPORT_UNIX)
    return;
  uv_os_fd_t fd;
  int type = 0;
  socklen_t len = sizeof type;
  if (uv_fileno(&s->h.handle, &fd) == 0 && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
      type == SOCK_STREAM)
    s->ts_socket = fd;
}

/* ts.lock held: what other threads see of the loop's side after it changed. */
static void stream_ts_sync(weft__stream_t *s) {
  weft_transport_t *t = &s->base;
  int idle = s->pending_writes == 0 && !s->handle_closing && !t->closing && !t->eof_written;
  t->ts.queued = s->handle_closing ? 0 : uv_stream_get_write_queue_size(&s->h.stream);
  t->ts.fd = idle && t->ts.error == 0 ? s->ts_socket : -1;
}

static int stream_write_locked(weft__stream_t *s, const void *const *bufs, const size_t *lens,
                               size_t count, int *failed);

static int stream_write(void *impl, const void *const *bufs, const size_t *lens, size_t count) {
  weft__stream_t *s = impl;
  if (s->handle_closing)
    return WEFT_ECLOSED;
  int failed = 0;
  if (!s->base.ts.shared) {
    int rc = stream_write_locked(s, bufs, lens, count, &failed);
    if (failed)
      stream_force_close(s, weft_error_from_uv(failed));
    return rc;
  }
  uv_mutex_lock(&s->base.ts.lock);
  int rc = stream_write_locked(s, bufs, lens, count, &failed);
  stream_ts_sync(s);
  uv_mutex_unlock(&s->base.ts.lock);
  if (failed)
    stream_force_close(s, weft_error_from_uv(failed));
  return rc;
}

/* The write itself; a libuv error that ends the connection is left in *failed, for the
 * caller to close with once ts.lock is released. */
static int stream_write_locked(weft__stream_t *s, const void *const *bufs, const size_t *lens,
                               size_t count, int *failed) {
  uv_buf_t local[16];
  uv_buf_t *ub = count <= 16 ? local : malloc(count * sizeof(uv_buf_t));
  if (!ub)
    return WEFT_ENOMEM;
  size_t total = 0, nb = 0;
  for (size_t i = 0; i < count; i++) {
    if (lens[i] == 0)
      continue;
    /* Not uv_buf_init: that is a call into libuv per buffer on the hot path. */
    ub[nb].base = (char *)bufs[i];
    ub[nb].len = lens[i];
    nb++;
    total += lens[i];
  }
  size_t done = 0;
  /* Nothing queued: write straight from the caller's memory and copy only what the kernel
   * did not take, which in the common case is nothing. */
  if (s->pending_writes == 0) {
    int n = uv_try_write(&s->h.stream, ub, (unsigned)nb);
    if (n < 0 && n != UV_EAGAIN && n != UV_ENOSYS) {
      if (ub != local)
        free(ub);
      *failed = n;
      return 0; /* as asyncio: the error reaches the protocol through connection_lost */
    }
    if (n > 0)
      done = (size_t)n;
  }
  if (done == total) {
    if (ub != local)
      free(ub);
    return 0;
  }
  write_req_t *w = malloc(sizeof(*w) + (total - done));
  if (!w) {
    if (ub != local)
      free(ub);
    return WEFT_ENOMEM;
  }
  size_t skip = done, off = 0;
  for (size_t i = 0; i < nb; i++) {
    size_t l = ub[i].len;
    if (skip >= l) {
      skip -= l;
      continue;
    }
    memcpy(w->data + off, ub[i].base + skip, l - skip);
    off += l - skip;
    skip = 0;
  }
  if (ub != local)
    free(ub);
  w->s = s;
  w->len = off;
  uv_buf_t one = uv_buf_init(w->data, (unsigned)off);
  int rc = uv_write(&w->req, &s->h.stream, &one, 1, after_write);
  if (rc < 0) {
    free(w);
    *failed = rc;
    return 0;
  }
  s->pending_writes++;
  return 0;
}

static int stream_write_queue_empty(void *impl) {
  const weft__stream_t *s = impl;
  return s->pending_writes == 0;
}

static void after_shutdown(uv_shutdown_t *req, int status) {
  (void)req; /* the stream's own; libuv calls this before the handle's close callback */
  (void)status;
}

static int stream_close(void *impl);

static int stream_write_eof(void *impl) {
  weft__stream_t *s = impl;
  /* A pipe has no half-close: as asyncio's write pipe transport does, EOF means closing
   * once the buffer is flushed, which is what the reader sees as end of file. */
  if (s->base.kind == WEFT_TRANSPORT_PIPE_WRITE) {
    s->base.closing = 1; /* as asyncio's: is_closing from now on */
    return stream_close(impl);
  }
  int rc = uv_shutdown(&s->shutdown_req, &s->h.stream, after_shutdown);
  return rc < 0 ? weft_error_from_uv(rc) : 0;
}

static int stream_can_write_eof(void *impl) {
  weft__stream_t *s = impl;
  return s->base.kind == WEFT_TRANSPORT_TCP || s->base.kind == WEFT_TRANSPORT_UNIX ||
         s->base.kind == WEFT_TRANSPORT_PIPE_WRITE;
}

static int stream_close(void *impl) {
  weft__stream_t *s = impl;
  if (s->can_read)
    uv_read_stop(&s->h.stream);
  if (s->pending_writes == 0)
    stream_force_close(s, 0);
  else
    s->close_after_flush = 1;
  return 0;
}

static int stream_abort(void *impl) {
  stream_force_close(impl, 0);
  return 0;
}

static int stream_pause_reading(void *impl) {
  weft__stream_t *s = impl;
  if (!s->can_read)
    return WEFT_ENOTSUP;
  uv_read_stop(&s->h.stream);
  return 0;
}

static int stream_resume_reading(void *impl) {
  weft__stream_t *s = impl;
  if (!s->can_read)
    return WEFT_ENOTSUP;
  if (!s->started || s->base.tr.fd >= 0) /* handed over: other threads read */
    return 0;
  int rc = uv_read_start(&s->h.stream, on_alloc, on_read);
  return rc < 0 ? weft_error_from_uv(rc) : 0;
}

static size_t stream_buffer_size(void *impl) {
  weft__stream_t *s = impl;
  if (s->handle_closing)
    return 0;
  return uv_stream_get_write_queue_size(&s->h.stream);
}

static int copy_out(const void *src, size_t n, void *buf, size_t *len) {
  if (*len < n) {
    *len = n;
    return WEFT_ENOBUFS;
  }
  memcpy(buf, src, n);
  *len = n;
  return 0;
}

static int stream_extra_info(void *impl, int key, void *buf, size_t *len) {
  weft__stream_t *s = impl;
  if (s->handle_closing)
    return WEFT_ENOENT;
  uv_os_fd_t fd;
  if (uv_fileno(&s->h.handle, &fd) < 0)
    return WEFT_ENOENT;
  switch (key) {
  case WEFT_INFO_FD: {
    int v = fd;
    return copy_out(&v, sizeof(v), buf, len);
  }
  case WEFT_INFO_PEERNAME:
  case WEFT_INFO_SOCKNAME: {
    if (s->base.kind == WEFT_TRANSPORT_PIPE_READ || s->base.kind == WEFT_TRANSPORT_PIPE_WRITE)
      return WEFT_ENOENT;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    int rc = key == WEFT_INFO_PEERNAME ? getpeername(fd, (struct sockaddr *)&ss, &sl)
                                       : getsockname(fd, (struct sockaddr *)&ss, &sl);
    if (rc != 0)
      return -errno;
    return copy_out(&ss, sizeof(ss), buf, len);
  }
  default:
    return WEFT_ENOENT;
  }
}
