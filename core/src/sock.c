/* Readiness watchers (add_reader/add_writer) and the sock_* operations built on them, and
 * sendfile. Each loop's watchers are a table in the loop's watcher slot, indexed by
 * descriptor; closing the loop closes those still registered. */
#include "loop_ext.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct watcher_s {
  uv_poll_t poll;
  weft_loop_t *loop;
  int fd;
  weft_callback_fn rcb, wcb;
  void *rarg, *warg;
  weft_free_fn rfree, wfree; /* the callers' destructors of rarg and warg */
  int closing;
  int stale; /* its descriptor was closed under it: stopped, kept until removed */
  int known; /* dev/ino: the file libuv registered for fd, once it has */
  dev_t dev;
  ino_t ino;
  struct watcher_s *next_dirty, *prev_dirty; /* started since the last poll */
  int dirty;
} watcher_t;

/* Indexed by descriptor, so that an add or remove finds its watcher at once however many
 * are registered. A watcher leaves the table as it starts closing: one removed and added
 * again within an iteration leaves nothing behind to step over.
 *
 * libuv registers a started watcher with epoll only when it next polls, and aborts the
 * process if epoll_ctl fails then. A program may close a watched descriptor at any time
 * (asyncio's selector survives it: the kernel drops the registration, the key stays), so
 * the watchers started since the last poll are checked just before it (`prepare`): one
 * whose descriptor is gone is stopped and stays registered as stale; one whose number now
 * names another file is re-added from scratch, since epoll has no entry to modify. */
typedef struct watcher_table_s {
  watcher_t **by_fd;
  size_t cap;
  uv_prepare_t *prepare;
  watcher_t *dirty;
  weft_loop_t *loop;
} watcher_table_t;

static void dirty_unlink(watcher_table_t *table, watcher_t *w) {
  if (!w->dirty)
    return;
  w->dirty = 0;
  if (w->prev_dirty)
    w->prev_dirty->next_dirty = w->next_dirty;
  else if (table != NULL)
    table->dirty = w->next_dirty;
  if (w->next_dirty)
    w->next_dirty->prev_dirty = w->prev_dirty;
  w->next_dirty = w->prev_dirty = NULL;
}

static void on_watcher_closed(uv_handle_t *h) {
  free(h->data);
}

static void close_watcher(watcher_table_t *table, watcher_t *w) {
  weft__replace_arg(w->loop, &w->rarg, &w->rfree, NULL, NULL);
  weft__replace_arg(w->loop, &w->warg, &w->wfree, NULL, NULL);
  if (table != NULL) {
    table->by_fd[w->fd] = NULL;
    dirty_unlink(table, w);
  }
  w->closing = 1;
  uv_close((uv_handle_t *)&w->poll, on_watcher_closed);
}

static void on_prepare_closed(uv_handle_t *h) {
  free(h);
}

/* The loop is closing: every watcher still registered goes with it. */
static void watchers_cleanup(void *arg) {
  watcher_table_t *table = arg;
  if (table->loop->before_poll_arg == table)
    table->loop->before_poll = NULL;
  for (size_t fd = 0; fd < table->cap; fd++)
    if (table->by_fd[fd] != NULL)
      close_watcher(NULL, table->by_fd[fd]);
  if (table->prepare != NULL)
    uv_close((uv_handle_t *)table->prepare, on_prepare_closed);
  free(table->by_fd);
  free(table);
}

static int poll_events(const watcher_t *w) {
  return (w->rcb ? UV_READABLE : 0) | (w->wcb ? UV_WRITABLE : 0);
}

static void on_poll(uv_poll_t *p, int status, int events);

/* Just before libuv polls: the descriptors of the watchers it is about to register. Also
 * called by the loop's own prepare handle once the ready queue ran, since watchers started
 * by those callbacks would otherwise wait for this handle's turn in the next iteration. */
static void check_dirty(void *arg) {
  watcher_table_t *table = arg;
  while (table->dirty != NULL) {
    watcher_t *w = table->dirty;
    dirty_unlink(table, w);
    struct stat st;
    if (fstat(w->fd, &st) != 0) {
      uv_poll_stop(&w->poll);
      w->stale = 1;
      w->known = 0;
      continue;
    }
    if (w->known && (st.st_dev != w->dev || st.st_ino != w->ino)) {
      uv_poll_stop(&w->poll); /* epoll forgot the old file: register the new one */
      uv_poll_start(&w->poll, poll_events(w), on_poll);
    }
    w->known = 1;
    w->dev = st.st_dev;
    w->ino = st.st_ino;
  }
  uv_prepare_stop(table->prepare);
}

static void on_prepare(uv_prepare_t *prep) {
  check_dirty(prep->data);
}

static void mark_dirty(watcher_table_t *table, watcher_t *w) {
  if (table == NULL || w->dirty)
    return;
  w->dirty = 1;
  w->prev_dirty = NULL;
  w->next_dirty = table->dirty;
  if (table->dirty)
    table->dirty->prev_dirty = w;
  table->dirty = w;
  uv_prepare_start(table->prepare, on_prepare);
}

static watcher_table_t *watchers_of(weft_loop_t *loop, int create) {
  watcher_table_t *table = weft__loop_ext_get(loop, WEFT__EXT_WATCHERS);
  if (table != NULL || !create)
    return table;
  table = calloc(1, sizeof *table);
  uv_prepare_t *prep = table != NULL ? malloc(sizeof *prep) : NULL;
  if (prep == NULL || uv_prepare_init(weft_loop_uv(loop), prep) != 0) {
    free(prep);
    free(table);
    return NULL;
  }
  prep->data = table;
  uv_unref((uv_handle_t *)prep); /* checking watchers is no reason to keep running */
  table->prepare = prep;
  table->loop = loop;
  if (weft__loop_ext_set(loop, WEFT__EXT_WATCHERS, table, watchers_cleanup) != 0) {
    uv_close((uv_handle_t *)prep, on_prepare_closed);
    free(table);
    return NULL;
  }
  loop->before_poll = check_dirty;
  loop->before_poll_arg = table;
  return table;
}

/* Makes room for descriptor fd. */
static int table_reserve(watcher_table_t *table, int fd) {
  if ((size_t)fd < table->cap)
    return 0;
  size_t cap = table->cap ? table->cap : 64;
  while (cap <= (size_t)fd)
    cap *= 2;
  watcher_t **grown = realloc(table->by_fd, cap * sizeof *grown);
  if (grown == NULL)
    return WEFT_ENOMEM;
  memset(grown + table->cap, 0, (cap - table->cap) * sizeof *grown);
  table->by_fd = grown;
  table->cap = cap;
  return 0;
}

static watcher_t *find(weft_loop_t *loop, int fd) {
  watcher_table_t *table = watchers_of(loop, 0);
  return table != NULL && (size_t)fd < table->cap ? table->by_fd[fd] : NULL;
}

static void on_poll(uv_poll_t *p, int status, int events) {
  watcher_t *w = p->data;
  /* An error wakes both sides: the operation itself then reports it. */
  if (status < 0)
    events = UV_READABLE | UV_WRITABLE;
  weft__assert_loop_stack("a reader or writer callback");
  if ((events & UV_WRITABLE) && w->wcb)
    w->wcb(w->warg);
  if (w->closing)
    return;
  if ((events & UV_READABLE) && w->rcb)
    w->rcb(w->rarg);
}

static int update(watcher_t *w) {
  int ev = poll_events(w);
  watcher_table_t *table = watchers_of(w->loop, 0);
  if (ev == 0) {
    uv_poll_stop(&w->poll);
    close_watcher(table, w);
    return 0;
  }
  w->stale = 0;
  int rc = uv_poll_start(&w->poll, ev, on_poll);
  if (rc < 0)
    return weft_error_from_uv(rc);
  mark_dirty(table, w);
  return 0;
}

/* WEFT_EBUSY if another handle of the loop (a transport, a server, a pipe) has fd
 * registered with libuv: a second watcher would take that registration away (uv_poll_init
 * checks the descriptor by adding it to epoll and removing it again), and libuv aborts the
 * process when that handle next changes its events. asyncio refuses such a descriptor too.
 * libuv's table of registered descriptors is read directly (its fields are in uv.h, private
 * by convention only): asking epoll instead costs two system calls on every new watcher. */
static int check_not_watched(const uv_loop_t *uv, int fd) {
#ifndef _WIN32
  if ((unsigned)fd < uv->nwatchers && uv->watchers[fd] != NULL)
    return WEFT_EBUSY;
#endif
  return 0;
}

static int add(weft_loop_t *loop, int fd, int writer, weft_callback_fn cb, void *arg,
               weft_free_fn arg_free) {
  if (!loop || fd < 0 || !cb)
    return WEFT_EINVAL;
  uv_loop_t *uv = weft_loop_uv(loop);
  if (!uv)
    return WEFT_ECLOSED;
  if (weft_loop_is_closed(loop))
    return WEFT_ECLOSED;
  watcher_t *w = find(loop, fd);
  if (!w) {
    int rc = check_not_watched(uv, fd);
    if (rc != 0)
      return rc;
    watcher_table_t *table = watchers_of(loop, 1);
    if (table == NULL || table_reserve(table, fd) != 0 || (w = calloc(1, sizeof(*w))) == NULL)
      return WEFT_ENOMEM;
    /* uv_poll_init makes the descriptor non-blocking; a watcher only polls it, and the
     * descriptor is the caller's, so its mode goes back to what it was (as asyncio's). */
    int mode = fcntl(fd, F_GETFL);
    rc = uv_poll_init(uv, &w->poll, fd);
    if (mode >= 0 && !(mode & O_NONBLOCK))
      (void)fcntl(fd, F_SETFL, mode);
    if (rc < 0) {
      free(w);
      return weft_error_from_uv(rc);
    }
    w->poll.data = w;
    w->loop = loop;
    w->fd = fd;
    table->by_fd[fd] = w;
  }
  weft_callback_fn *cb_slot = writer ? &w->wcb : &w->rcb;
  void **arg_slot = writer ? &w->warg : &w->rarg;
  weft_free_fn *free_slot = writer ? &w->wfree : &w->rfree;
  weft_callback_fn old_cb = *cb_slot;
  *cb_slot = cb;
  int rc = update(w);
  if (rc != 0) { /* the new argument stays the caller's, the old one stays kept */
    *cb_slot = old_cb;
    return rc;
  }
  weft__replace_arg(w->loop, arg_slot, free_slot, arg, arg_free); /* lets go of a replaced one */
  return 0;
}

static int del(weft_loop_t *loop, int fd, int writer) {
  if (!loop)
    return WEFT_EINVAL;
  watcher_t *w = find(loop, fd);
  if (!w || !(writer ? w->wcb : w->rcb))
    return 0;
  if (writer) {
    w->wcb = NULL;
    weft__replace_arg(w->loop, &w->warg, &w->wfree, NULL, NULL);
  } else {
    w->rcb = NULL;
    weft__replace_arg(w->loop, &w->rarg, &w->rfree, NULL, NULL);
  }
  update(w);
  return 1;
}

int weft_add_reader(weft_loop_t *loop, int fd, weft_callback_fn cb, void *arg,
                    weft_free_fn arg_free) {
  return add(loop, fd, 0, cb, arg, arg_free);
}
int weft_remove_reader(weft_loop_t *loop, int fd) {
  return del(loop, fd, 0);
}
int weft_add_writer(weft_loop_t *loop, int fd, weft_callback_fn cb, void *arg,
                    weft_free_fn arg_free) {
  return add(loop, fd, 1, cb, arg, arg_free);
}
int weft_remove_writer(weft_loop_t *loop, int fd) {
  return del(loop, fd, 1);
}

/* ---------------------------------------------------------------- sock operations */

enum {
  S_RECV,
  S_RECV_INTO,
  S_RECVFROM,
  S_RECVFROM_INTO,
  S_SENDALL,
  S_SENDTO,
  S_CONNECT,
  S_ACCEPT,
  S_SENDFILE
};

typedef struct sop_s {
  weft_loop_t *loop;
  weft_future_t *future;
  int kind;
  int fd;
  int writer;     /* which watcher it waits on */
  int registered; /* a watcher is registered for it */
  char *buf;      /* recv_into: the caller's; others: owned */
  size_t len, done;
  int owns_buf;
  struct sockaddr *addr; /* recvfrom: the caller's */
  size_t *addrlen;
  struct sockaddr_storage to; /* sendto / connect */
  int file_fd;
  int64_t offset, count;
  int fallback;
  weft__op_watch_t watch;
} sop_t;

static void sop_unregister(sop_t *op) {
  if (op->registered) {
    op->registered = 0;
    del(op->loop, op->fd, op->writer);
  }
}

static void sop_done(weft_future_t *f, void *arg) {
  sop_t *op = arg;
  sop_unregister(op); /* cancelled while waiting */
  if (op->owns_buf)
    free(op->buf);
  weft_future_release(op->future);
  free(op);
}

static void sop_error(sop_t *op, int code) {
  sop_unregister(op);
  if (weft_future_done(op->future))
    return;
  if (op->kind == S_SENDFILE)
    weft__sendfile_fail(op->future, code, (int64_t)op->done);
  else
    weft_future_set_error(op->future, code, NULL, NULL, NULL);
}

static void sop_result(sop_t *op, weft_value_t v) {
  sop_unregister(op);
  if (!weft_future_done(op->future))
    weft_future_set_result(op->future, v);
  else
    weft_value_clear(&v);
}

static void sop_ready(void *arg);

/* One attempt: 1 when finished, 0 to wait for readiness. */
static int sop_try(sop_t *op) {
  ssize_t n;
  switch (op->kind) {
  case S_RECV:
  case S_RECV_INTO:
  case S_RECVFROM:
  case S_RECVFROM_INTO: {
    int from = op->kind == S_RECVFROM || op->kind == S_RECVFROM_INTO;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    n = from ? recvfrom(op->fd, op->buf, op->len, 0, (struct sockaddr *)&ss, &sl)
             : recv(op->fd, op->buf, op->len, 0);
    if (n < 0)
      break;
    if (from && op->addr && op->addrlen) {
      size_t c = *op->addrlen < sl ? *op->addrlen : sl;
      memcpy(op->addr, &ss, c);
      *op->addrlen = sl;
    }
    if (op->kind == S_RECV || op->kind == S_RECVFROM) {
      weft_value_t v;
      if (weft_value_bytes(&v, op->buf, (size_t)n) != 0) {
        sop_error(op, WEFT_ENOMEM);
        return 1;
      }
      sop_result(op, v);
    } else {
      sop_result(op, weft_value_int(n));
    }
    return 1;
  }
  case S_SENDALL:
    while (op->done < op->len) {
      n = send(op->fd, op->buf + op->done, op->len - op->done, MSG_NOSIGNAL);
      if (n < 0)
        goto err;
      op->done += (size_t)n;
    }
    sop_result(op, weft_value_none());
    return 1;
  case S_SENDTO:
    n = sendto(op->fd, op->buf, op->len, MSG_NOSIGNAL, (struct sockaddr *)&op->to,
               weft__sockaddr_len((struct sockaddr *)&op->to));
    if (n < 0)
      break;
    sop_result(op, weft_value_int(n));
    return 1;
  case S_CONNECT: {
    if (!op->registered) {
      if (connect(op->fd, (struct sockaddr *)&op->to,
                  weft__sockaddr_len((struct sockaddr *)&op->to)) == 0) {
        sop_result(op, weft_value_none());
        return 1;
      }
      if (errno == EINPROGRESS || errno == EAGAIN)
        return 0;
      goto err;
    }
    int e = 0;
    socklen_t el = sizeof(e);
    getsockopt(op->fd, SOL_SOCKET, SO_ERROR, &e, &el);
    if (e == EINPROGRESS)
      return 0;
    if (e)
      sop_error(op, -e);
    else
      sop_result(op, weft_value_none());
    return 1;
  }
  case S_ACCEPT: {
    int c = accept4(op->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0)
      break;
    sop_result(op, weft_value_int(c));
    return 1;
  }
  case S_SENDFILE:
    while (op->count == 0 || (int64_t)op->done < op->count) {
      size_t want = 1 << 20;
      if (op->count && (int64_t)(op->done + want) > op->count)
        want = (size_t)(op->count - (int64_t)op->done);
      off_t off = (off_t)(op->offset + (int64_t)op->done);
      if (!op->buf) {
        n = sendfile(op->fd, op->file_fd, &off, want);
        if (n < 0 && (errno == EINVAL || errno == ENOSYS) && op->done == 0) {
          if (!op->fallback) {
            sop_error(op, WEFT_ESENDFILEUNAVAIL);
            return 1;
          }
          op->buf = malloc(64 * 1024); /* switch to read + send */
          op->owns_buf = 1;
          if (!op->buf) {
            sop_error(op, WEFT_ENOMEM);
            return 1;
          }
          continue;
        }
      } else {
        if (want > 64 * 1024)
          want = 64 * 1024;
        n = pread(op->file_fd, op->buf, want, off);
        if (n > 0) {
          ssize_t s = send(op->fd, op->buf, (size_t)n, MSG_NOSIGNAL);
          if (s < 0)
            goto err;
          n = s;
        }
      }
      if (n < 0)
        goto err;
      if (n == 0)
        break; /* end of file */
      op->done += (size_t)n;
    }
    sop_result(op, weft_value_int((int64_t)op->done));
    return 1;
  }
err:
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
    return 0;
  sop_error(op, -errno);
  return 1;
}

static void sop_ready(void *arg) {
  sop_t *op = arg;
  if (weft_future_done(op->future)) {
    sop_unregister(op);
    return;
  }
  sop_try(op);
}

static int sop_new(weft_loop_t *loop, int fd, int kind, sop_t **out) {
  if (!loop || fd < 0)
    return WEFT_EINVAL;
  sop_t *op;
  int rc = weft__op_new(loop, sizeof(*op), offsetof(sop_t, future), (void **)&op);
  if (rc)
    return rc;
  op->loop = loop;
  op->fd = fd;
  op->kind = kind;
  op->writer = kind == S_SENDALL || kind == S_SENDTO || kind == S_CONNECT || kind == S_SENDFILE;
  *out = op;
  return 0;
}

/* Drops an operation that never started (its future was never handed out). */
static int sop_discard(sop_t *op, int rc) {
  if (op->owns_buf)
    free(op->buf);
  weft_future_release(op->future);
  free(op);
  return rc;
}

/* Gives the operation a buffer of its own of n bytes (at least 1), copied from data if
 * given; on failure the operation is dropped and WEFT_ENOMEM returned. */
static int sop_own_buf(sop_t *op, size_t n, const void *data) {
  op->buf = malloc(n ? n : 1);
  if (op->buf == NULL)
    return sop_discard(op, WEFT_ENOMEM);
  op->owns_buf = 1;
  if (data != NULL && n)
    memcpy(op->buf, data, n);
  op->len = n;
  return 0;
}

static int sop_start(sop_t *op, weft_future_t **out) {
  weft__future_watch_op(&op->watch, op->future, sop_done, op);
  *out = weft_future_retain(op->future);
  if (!sop_try(op)) {
    int rc = add(op->loop, op->fd, op->writer, sop_ready, op, NULL);
    if (rc)
      sop_error(op, rc);
    else
      op->registered = 1;
  }
  return 0;
}

int weft_sock_recv(weft_loop_t *loop, int fd, size_t n, weft_future_t **out) {
  sop_t *op;
  int rc = out ? sop_new(loop, fd, S_RECV, &op) : WEFT_EINVAL;
  if (rc)
    return rc;
  if ((rc = sop_own_buf(op, n, NULL)) != 0)
    return rc;
  return sop_start(op, out);
}

int weft_sock_recv_into(weft_loop_t *loop, int fd, void *buf, size_t len, weft_future_t **out) {
  sop_t *op;
  int rc = out && (buf || !len) ? sop_new(loop, fd, S_RECV_INTO, &op) : WEFT_EINVAL;
  if (rc)
    return rc;
  op->buf = buf;
  op->len = len;
  return sop_start(op, out);
}

int weft_sock_recvfrom(weft_loop_t *loop, int fd, size_t n, struct sockaddr *addr, size_t *addrlen,
                       weft_future_t **out) {
  sop_t *op;
  int rc = out ? sop_new(loop, fd, S_RECVFROM, &op) : WEFT_EINVAL;
  if (rc)
    return rc;
  if ((rc = sop_own_buf(op, n, NULL)) != 0)
    return rc;
  op->addr = addr;
  op->addrlen = addrlen;
  return sop_start(op, out);
}

int weft_sock_recvfrom_into(weft_loop_t *loop, int fd, void *buf, size_t len, struct sockaddr *addr,
                            size_t *addrlen, weft_future_t **out) {
  sop_t *op;
  int rc = out && (buf || !len) ? sop_new(loop, fd, S_RECVFROM_INTO, &op) : WEFT_EINVAL;
  if (rc)
    return rc;
  op->buf = buf;
  op->len = len;
  op->addr = addr;
  op->addrlen = addrlen;
  return sop_start(op, out);
}

int weft_sock_sendall(weft_loop_t *loop, int fd, const void *data, size_t len,
                      weft_future_t **out) {
  sop_t *op;
  int rc = out && (data || !len) ? sop_new(loop, fd, S_SENDALL, &op) : WEFT_EINVAL;
  if (rc)
    return rc;
  if ((rc = sop_own_buf(op, len, data)) != 0)
    return rc;
  return sop_start(op, out);
}

int weft_sock_sendto(weft_loop_t *loop, int fd, const void *data, size_t len,
                     const struct sockaddr *addr, weft_future_t **out) {
  if (!addr || !weft__sockaddr_len(addr))
    return WEFT_EINVAL;
  sop_t *op;
  int rc = out && (data || !len) ? sop_new(loop, fd, S_SENDTO, &op) : WEFT_EINVAL;
  if (rc)
    return rc;
  if ((rc = sop_own_buf(op, len, data)) != 0)
    return rc;
  memcpy(&op->to, addr, weft__sockaddr_len(addr));
  return sop_start(op, out);
}

int weft_sock_connect(weft_loop_t *loop, int fd, const struct sockaddr *addr, weft_future_t **out) {
  if (!addr || !weft__sockaddr_len(addr))
    return WEFT_EINVAL;
  sop_t *op;
  int rc = out ? sop_new(loop, fd, S_CONNECT, &op) : WEFT_EINVAL;
  if (rc)
    return rc;
  memcpy(&op->to, addr, weft__sockaddr_len(addr));
  return sop_start(op, out);
}

int weft_sock_accept(weft_loop_t *loop, int fd, weft_future_t **out) {
  sop_t *op;
  int rc = out ? sop_new(loop, fd, S_ACCEPT, &op) : WEFT_EINVAL;
  if (rc)
    return rc;
  return sop_start(op, out);
}

int weft_sock_sendfile(weft_loop_t *loop, int fd, int file_fd, int64_t offset, int64_t count,
                       int fallback, weft_future_t **out) {
  if (file_fd < 0 || offset < 0 || count < 0)
    return WEFT_EINVAL;
  sop_t *op;
  int rc = out ? sop_new(loop, fd, S_SENDFILE, &op) : WEFT_EINVAL;
  if (rc)
    return rc;
  op->file_fd = file_fd;
  op->offset = offset;
  op->count = count;
  op->fallback = fallback;
  return sop_start(op, out);
}
