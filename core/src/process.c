/* Subprocesses on uv_spawn: the transport + protocol form and the stream form.
 *
 * Layout: the process (spawning, exit, signals, protocol callbacks, waiters) and, below
 * it, the pipe plumbing (proc_pipe_t: reading into a buffer, writing with a byte count,
 * closing). The plumbing is the process's own minimal version over uv_pipe_t, kept apart
 * so it can be swapped for the pipe transports and streams of the net module.
 *
 * Pipes are made here (pipe2 with O_CLOEXEC) and handed to uv_spawn as inherited fds,
 * rather than with UV_CREATE_PIPE, so stderr can share stdout's pipe (STDOUT mode) and
 * no end leaks into children that other threads spawn meanwhile.
 *
 * Lifetime: `refs` counts the user's references, one for "libuv handles still open", and
 * one per scheduled loop callback. The handles stay open until the child has exited (libuv
 * reaps it then), so an exited child is always reaped whoever holds what. */
#include "internal.h"
#include "weft/process.h"
#include "loop_ext.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#define DEFAULT_LIMIT (64 * 1024)
#define READ_CHUNK (64 * 1024)
#define WRITE_LOW_WATER (16 * 1024)

enum { READ_SOME = 1, READ_LINE = 2 };

typedef struct futlist_s {
  weft_future_t **items;
  size_t len, cap;
} futlist_t;

typedef struct proc_pipe_s {
  uv_pipe_t handle;
  weft_process_t *proc;
  int fd;            /* 0, 1 or 2 in the child */
  int open;          /* the handle is initialised and not yet being closed */
  int lost;          /* disconnected: EOF, error, write_eof done, or closed */
  int lost_reported; /* pipe_connection_lost delivered */
  int error;         /* why, when it was an error */
  int paused;        /* reading stopped because the buffer is over its limit */
  int collect;       /* communicate: keep everything, never pause */
  /* Reading: data is buf[start..end). */
  char *buf;
  size_t start, end, cap;
  weft_future_t *read_future;
  int read_kind;
  ptrdiff_t read_n;
  /* Writing (stdin). */
  size_t wbuffered;
  int eof_requested;
  futlist_t drainers;
} proc_pipe_t;

typedef struct proc_list_s {
  weft_process_t *head;
} proc_list_t;

struct weft_process_s {
  int refs;
  int user_refs;
  weft_loop_t *loop;
  uv_process_t handle;
  int handle_open;
  int open_handles;
  int pid;
  int exited;
  int returncode;
  int connected;     /* connection_made delivered, pipes reading */
  int exit_reported; /* process_exited delivered, waiters woken */
  int finished;      /* connection_lost delivered */
  int closed;        /* weft_process_close or the last user reference */
  int stream;        /* the stream form */
  size_t limit;
  weft_subprocess_protocol_t proto;
  void *proto_arg;
  proc_pipe_t *pipes[3];
  futlist_t waiters;
  weft_future_t *comm_future;
  proc_list_t *list; /* the loop's live processes, until every handle is closed */
  weft_process_t *prev, *next;
};

/* ---- Small helpers -------------------------------------------------------------------- */

static int futlist_push(futlist_t *list, weft_future_t *future) {
  if (list->len == list->cap) {
    size_t cap = list->cap ? list->cap * 2 : 4;
    weft_future_t **items = realloc(list->items, cap * sizeof *items);
    if (!items)
      return WEFT_ENOMEM;
    list->items = items;
    list->cap = cap;
  }
  list->items[list->len++] = weft_future_retain(future);
  return 0;
}

/* Completes and releases every future of the list: with an int result, or an error. */
static void futlist_finish(futlist_t *list, int error, int64_t result) {
  size_t n = list->len;
  weft_future_t **items = list->items;
  list->items = NULL;
  list->len = list->cap = 0;
  for (size_t i = 0; i < n; i++) {
    if (!weft_future_done(items[i])) {
      if (error)
        weft_future_set_error(items[i], error, NULL, NULL, NULL);
      else
        weft_future_set_result(items[i], weft_value_int(result));
    }
    weft_future_release(items[i]);
  }
  free(items);
}

static void proc_ref(weft_process_t *p) {
  p->refs++;
}

static void proc_free(weft_process_t *p) {
  for (int i = 0; i < 3; i++) {
    proc_pipe_t *pp = p->pipes[i];
    if (!pp)
      continue;
    if (pp->read_future)
      weft_future_release(pp->read_future);
    futlist_finish(&pp->drainers, WEFT_ECLOSED, 0);
    free(pp->buf);
    free(pp);
  }
  futlist_finish(&p->waiters, WEFT_ECLOSED, 0);
  if (p->comm_future)
    weft_future_release(p->comm_future);
  free(p);
}

static void proc_unref(weft_process_t *p) {
  if (--p->refs == 0)
    proc_free(p);
}

/* Schedules fn(p) on the loop, holding a reference for it. */
static void proc_call_soon(weft_process_t *p, weft_callback_fn fn) {
  proc_ref(p);
  if (weft_call_soon(p->loop, fn, p, NULL) != 0)
    p->refs--; /* the loop is closing: nothing will run */
}

static void list_remove(weft_process_t *p) {
  if (!p->list)
    return;
  if (p->prev)
    p->prev->next = p->next;
  else
    p->list->head = p->next;
  if (p->next)
    p->next->prev = p->prev;
  p->list = NULL;
  p->prev = p->next = NULL;
}

static void handle_closed(weft_process_t *p) {
  if (--p->open_handles == 0) {
    list_remove(p);
    proc_unref(p); /* the "handles open" reference */
  }
}

static void try_finish(weft_process_t *p);
static void check_communicate(weft_process_t *p);

/* ---- Pipe plumbing -------------------------------------------------------------------- */

static void on_pipe_closed(uv_handle_t *handle) {
  proc_pipe_t *pp = handle->data;
  handle_closed(pp->proc);
}

static size_t buffered(const proc_pipe_t *pp) {
  return pp->end - pp->start;
}

/* Hands the first k buffered bytes to the pending read. */
static void read_give(proc_pipe_t *pp, size_t k) {
  weft_value_t v;
  weft_future_t *f = pp->read_future;
  pp->read_future = NULL;
  if (weft_value_bytes(&v, pp->buf + pp->start, k) != 0) {
    weft_future_set_error(f, WEFT_ENOMEM, NULL, NULL, NULL);
  } else {
    pp->start += k;
    if (pp->start == pp->end)
      pp->start = pp->end = 0;
    weft_future_set_result(f, v);
  }
  weft_future_release(f);
}

static void read_fail(proc_pipe_t *pp, int code) {
  weft_future_t *f = pp->read_future;
  pp->read_future = NULL;
  weft_future_set_error(f, code, NULL, NULL, NULL);
  weft_future_release(f);
}

static void maybe_resume(proc_pipe_t *pp);

/* Tells the protocol once, and never before connection_made. */
static void report_lost(proc_pipe_t *pp) {
  weft_process_t *p = pp->proc;
  if (!pp->lost || pp->lost_reported || !p->connected)
    return;
  pp->lost_reported = 1;
  if (!p->stream && p->proto.pipe_connection_lost)
    p->proto.pipe_connection_lost(p, pp->fd, pp->error, p->proto_arg);
}

/* Completes the pending read if the buffer (or EOF) allows it. */
static void fulfill_read(proc_pipe_t *pp) {
  if (!pp->read_future)
    return;
  if (weft_future_done(pp->read_future)) { /* cancelled by its owner */
    weft_future_release(pp->read_future);
    pp->read_future = NULL;
    return;
  }
  size_t have = buffered(pp);
  if (pp->read_kind == READ_SOME) {
    if (pp->read_n < 0) {
      if (!pp->lost)
        return;
    } else if (have == 0 && !pp->lost) {
      return;
    }
    if (have == 0 && pp->error) {
      read_fail(pp, pp->error);
    } else {
      size_t k = pp->read_n < 0 || (size_t)pp->read_n > have ? have : (size_t)pp->read_n;
      read_give(pp, k);
    }
  } else {
    const char *nl = have ? memchr(pp->buf + pp->start, '\n', have) : NULL;
    if (nl) {
      read_give(pp, (size_t)(nl - (pp->buf + pp->start)) + 1);
    } else if (pp->lost) {
      if (have == 0 && pp->error)
        read_fail(pp, pp->error);
      else
        read_give(pp, have);
    } else if (have > pp->proc->limit) {
      pp->start = pp->end = 0; /* asyncio drops what it cannot return */
      read_fail(pp, WEFT_ELIMITOVERRUN);
    } else {
      return;
    }
  }
  maybe_resume(pp);
}

/* The pipe is disconnected (EOF, error, write_eof done, closed): close the handle and tell
 * whoever listens. `error` is 0 for an orderly end. */
static void pipe_lost(proc_pipe_t *pp, int error) {
  if (pp->lost)
    return;
  weft_process_t *p = pp->proc;
  pp->lost = 1;
  pp->error = error;
  if (pp->open) {
    pp->open = 0;
    uv_close((uv_handle_t *)&pp->handle, on_pipe_closed);
  }
  proc_ref(p); /* the callbacks below may drop the user's reference */
  fulfill_read(pp);
  futlist_finish(&pp->drainers, error ? error : WEFT_ECLOSED, 0);
  report_lost(pp);
  check_communicate(p);
  try_finish(p);
  proc_unref(p);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  proc_pipe_t *pp = handle->data;
  if (pp->start == pp->end)
    pp->start = pp->end = 0;
  if (pp->cap - pp->end < READ_CHUNK && pp->start > 0) {
    memmove(pp->buf, pp->buf + pp->start, buffered(pp));
    pp->end -= pp->start;
    pp->start = 0;
  }
  if (pp->cap - pp->end < READ_CHUNK) {
    size_t cap = pp->cap * 2 > pp->end + READ_CHUNK ? pp->cap * 2 : pp->end + READ_CHUNK;
    char *b = realloc(pp->buf, cap);
    if (!b) {
      buf->base = NULL;
      buf->len = 0; /* libuv reports UV_ENOBUFS to on_read */
      return;
    }
    pp->buf = b;
    pp->cap = cap;
  }
  buf->base = pp->buf + pp->end;
  buf->len = pp->cap - pp->end;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  proc_pipe_t *pp = stream->data;
  weft_process_t *p = pp->proc;
  if (nread > 0) {
    if (!p->stream) {
      /* Protocol form: nothing is kept, the buffer is only scratch space. */
      if (p->proto.pipe_data_received) {
        proc_ref(p);
        p->proto.pipe_data_received(p, pp->fd, buf->base, (size_t)nread, p->proto_arg);
        proc_unref(p);
      }
      return;
    }
    pp->end += (size_t)nread;
    fulfill_read(pp);
    if (!pp->collect && pp->open && !pp->paused && buffered(pp) > 2 * p->limit) {
      uv_read_stop(stream); /* flow control, as StreamReader: resume below the limit */
      pp->paused = 1;
    }
  } else if (nread < 0) {
    pipe_lost(pp, nread == UV_EOF ? 0 : weft_error_from_uv((int)nread));
  }
}

static void maybe_resume(proc_pipe_t *pp) {
  if (pp->paused && pp->open && (pp->collect || buffered(pp) <= pp->proc->limit)) {
    pp->paused = 0;
    uv_read_start((uv_stream_t *)&pp->handle, on_alloc, on_read);
  }
}

typedef struct write_req_s {
  uv_write_t req;
  proc_pipe_t *pipe;
  size_t len;
  char data[];
} write_req_t;

static void on_written(uv_write_t *req, int status) {
  write_req_t *w = (write_req_t *)req;
  proc_pipe_t *pp = w->pipe;
  pp->wbuffered -= w->len;
  free(w);
  if (status == UV_ECANCELED)
    return; /* the pipe is being closed */
  if (status < 0) {
    pipe_lost(pp, weft_error_from_uv(status));
    return;
  }
  if (pp->wbuffered <= WRITE_LOW_WATER)
    futlist_finish(&pp->drainers, 0, 0);
  if (pp->eof_requested && pp->wbuffered == 0)
    pipe_lost(pp, 0);
}

/* A pipe is a pipe, not a socket: uv_shutdown would fail, so EOF on stdin is a close
 * once everything buffered has been written. */
static int pipe_write(proc_pipe_t *pp, const void *data, size_t len) {
  if (pp->lost)
    return pp->error ? pp->error : WEFT_ECLOSED;
  if (pp->eof_requested)
    return WEFT_ECLOSED;
  size_t done = 0;
  if (pp->wbuffered == 0) {
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)(len > UINT32_MAX ? UINT32_MAX : len));
    int n = uv_try_write((uv_stream_t *)&pp->handle, &b, 1);
    if (n >= 0) {
      done = (size_t)n;
    } else if (n != UV_EAGAIN) {
      int code = weft_error_from_uv(n);
      pipe_lost(pp, code);
      return code;
    }
  }
  if (done == len)
    return 0;
  size_t rest = len - done;
  write_req_t *w = malloc(sizeof *w + rest);
  if (!w)
    return WEFT_ENOMEM;
  memcpy(w->data, (const char *)data + done, rest);
  w->pipe = pp;
  w->len = rest;
  uv_buf_t b = uv_buf_init(w->data, (unsigned)rest);
  int rc = uv_write(&w->req, (uv_stream_t *)&pp->handle, &b, 1, on_written);
  if (rc != 0) {
    free(w);
    int code = weft_error_from_uv(rc);
    pipe_lost(pp, code);
    return code;
  }
  pp->wbuffered += rest;
  return 0;
}

static void pipe_write_eof(proc_pipe_t *pp) {
  if (pp->lost || pp->eof_requested)
    return;
  pp->eof_requested = 1;
  if (pp->wbuffered == 0)
    pipe_lost(pp, 0);
}

/* ---- The process ---------------------------------------------------------------------- */

static void try_finish(weft_process_t *p) {
  if (p->finished || !p->exit_reported)
    return;
  for (int i = 0; i < 3; i++)
    if (p->pipes[i] && !p->pipes[i]->lost)
      return;
  p->finished = 1;
  if (!p->stream && p->proto.connection_lost)
    p->proto.connection_lost(p, 0, p->proto_arg);
}

static void check_communicate(weft_process_t *p) {
  if (!p->comm_future)
    return;
  int error = 0;
  for (int i = 0; i < 3; i++) {
    proc_pipe_t *pp = p->pipes[i];
    if (!pp)
      continue;
    if (!pp->lost)
      return;
    if (i > 0 && pp->error)
      error = pp->error; /* a broken stdin is not communicate's problem, a read error is */
  }
  if (!p->exit_reported && !error)
    return;
  weft_future_t *f = p->comm_future;
  p->comm_future = NULL;
  if (!weft_future_done(f)) {
    if (error)
      weft_future_set_error(f, error, NULL, NULL, NULL);
    else
      weft_future_set_result(f, weft_value_int(p->returncode));
  }
  weft_future_release(f);
}

static void deliver_exit(weft_process_t *p) {
  if (p->exit_reported)
    return;
  p->exit_reported = 1;
  proc_ref(p);
  if (!p->stream && p->proto.process_exited)
    p->proto.process_exited(p, p->proto_arg);
  futlist_finish(&p->waiters, 0, p->returncode);
  check_communicate(p);
  try_finish(p);
  proc_unref(p);
}

static void on_exit_soon(void *arg) {
  weft_process_t *p = arg;
  if (p->connected)
    deliver_exit(p); /* else on_connected delivers it, so it never precedes connection_made */
  proc_unref(p);
}

static void on_process_closed(uv_handle_t *handle) {
  handle_closed(handle->data);
}

static void on_child_exit(uv_process_t *handle, int64_t exit_status, int term_signal) {
  weft_process_t *p = handle->data;
  p->exited = 1;
  p->returncode = term_signal ? -term_signal : (int)exit_status;
  p->handle_open = 0;
  uv_close((uv_handle_t *)handle, on_process_closed);
  proc_call_soon(p, on_exit_soon);
}

static void start_reading(weft_process_t *p) {
  for (int i = 1; i < 3; i++) {
    proc_pipe_t *pp = p->pipes[i];
    if (pp && pp->open && !pp->paused) {
      int rc = uv_read_start((uv_stream_t *)&pp->handle, on_alloc, on_read);
      if (rc != 0)
        pipe_lost(pp, weft_error_from_uv(rc));
    }
  }
}

static void on_connected(void *arg) {
  weft_process_t *p = arg;
  p->connected = 1;
  if (!p->stream && p->proto.connection_made)
    p->proto.connection_made(p, p->proto_arg);
  if (!p->closed)
    start_reading(p);
  /* Pipes lost before we got here (write_eof, close) are reported now, in order. */
  for (int i = 0; i < 3; i++)
    if (p->pipes[i])
      report_lost(p->pipes[i]);
  if (p->exited)
    deliver_exit(p);
  try_finish(p);
  proc_unref(p);
}

/* Closes the parent's pipe ends; pending reads end with WEFT_ECLOSED. */
static void close_pipes(weft_process_t *p) {
  for (int i = 0; i < 3; i++) {
    proc_pipe_t *pp = p->pipes[i];
    if (pp && !pp->lost) {
      if (pp->read_future)
        read_fail(pp, WEFT_ECLOSED);
      pipe_lost(pp, 0);
    }
  }
}

/* ---- Process groups ------------------------------------------------------------------- */

/* uv_spawn has no setpgid option and forks with fork(), so the child's pthread_atfork
 * handler does it: only in the child of the thread that asked, only during that spawn.
 * (Setting it from the parent afterwards would be too late: uv_spawn returns after the
 * exec.) The child keeps its parent thread's pthread_t, which is how it recognises it. */
static pthread_once_t pgroup_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t pgroup_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int pgroup_active;
static pthread_t pgroup_thread;
static pid_t pgroup_id;

static void pgroup_atfork_child(void) {
  if (atomic_load(&pgroup_active) && pthread_equal(pthread_self(), pgroup_thread))
    setpgid(0, pgroup_id);
}

static void pgroup_init(void) {
  pthread_atfork(NULL, NULL, pgroup_atfork_child);
}

/* ---- Spawning ------------------------------------------------------------------------- */

static void processes_cleanup(void *arg);

static proc_list_t *live_list(weft_loop_t *loop) {
  proc_list_t *list = weft__loop_ext_get(loop, WEFT__EXT_PROCESSES);
  if (list)
    return list;
  list = calloc(1, sizeof *list);
  if (list && weft__loop_ext_set(loop, WEFT__EXT_PROCESSES, list, processes_cleanup) != 0) {
    free(list);
    list = NULL;
  }
  return list;
}

static void on_failed_spawn_closed(uv_handle_t *handle) {
  free(handle->data);
}

static int spawn(weft_loop_t *loop, char *const *argv, const weft_process_options_t *options,
                 const weft_subprocess_protocol_t *protocol, void *arg, int stream,
                 weft_process_t **out) {
  if (!out)
    return WEFT_EINVAL;
  *out = NULL;
  if (!loop || !argv || !argv[0])
    return WEFT_EINVAL;
  int check = weft__loop_check(loop);
  if (check != 0)
    return check;
  weft_process_options_t o;
  memset(&o, 0, sizeof o);
  if (options) {
    if (options->size == 0)
      return WEFT_EINVAL;
    memcpy(&o, options, options->size < sizeof o ? options->size : sizeof o);
  }
  if (o.stdio[0].mode == WEFT_STDIO_STDOUT || o.stdio[1].mode == WEFT_STDIO_STDOUT)
    return WEFT_EINVAL;
  for (int i = 0; i < 3; i++)
    if (o.stdio[i].mode < WEFT_STDIO_INHERIT || o.stdio[i].mode > WEFT_STDIO_STDOUT ||
        (o.stdio[i].mode == WEFT_STDIO_FD && o.stdio[i].fd < 0))
      return WEFT_EINVAL;

  proc_list_t *list = live_list(loop);
  weft_process_t *p = calloc(1, sizeof *p);
  if (!list || !p) {
    free(p);
    return WEFT_ENOMEM;
  }
  p->loop = loop;
  p->stream = stream;
  p->limit = o.limit ? o.limit : DEFAULT_LIMIT;
  if (protocol) {
    if (protocol->size == 0) {
      free(p);
      return WEFT_EINVAL;
    }
    memcpy(&p->proto, protocol,
           protocol->size < sizeof p->proto ? protocol->size : sizeof p->proto);
  }
  p->proto_arg = arg;

  int child_fd[3] = {-1, -1, -1}, ours[3] = {-1, -1, -1}, theirs[3] = {-1, -1, -1};
  int devnull = -1, rc = 0;
  for (int i = 0; i < 3 && rc == 0; i++) {
    switch (o.stdio[i].mode) {
    case WEFT_STDIO_INHERIT:
      child_fd[i] = i;
      break;
    case WEFT_STDIO_FD:
      child_fd[i] = o.stdio[i].fd;
      break;
    case WEFT_STDIO_STDOUT:
      child_fd[i] = child_fd[1];
      break;
    case WEFT_STDIO_DEVNULL:
      if (devnull < 0 && (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
        rc = -errno;
      child_fd[i] = devnull;
      break;
    case WEFT_STDIO_PIPE: {
      int fds[2];
      p->pipes[i] = calloc(1, sizeof *p->pipes[i]);
      if (!p->pipes[i]) {
        rc = WEFT_ENOMEM;
      } else if (pipe2(fds, O_CLOEXEC) != 0) {
        rc = -errno;
      } else {
        ours[i] = i == 0 ? fds[1] : fds[0];
        theirs[i] = i == 0 ? fds[0] : fds[1];
        child_fd[i] = theirs[i];
      }
      break;
    }
    }
  }
  uv_stdio_container_t stdio[3];
  for (int i = 0; i < 3; i++) {
    stdio[i].flags = UV_INHERIT_FD;
    stdio[i].data.fd = child_fd[i];
  }
  uv_process_options_t uo;
  memset(&uo, 0, sizeof uo);
  uo.exit_cb = on_child_exit;
  uo.file = argv[0];
  uo.args = (char **)argv;
  uo.env = (char **)o.env;
  uo.cwd = o.cwd;
  uo.flags = o.new_session ? UV_PROCESS_DETACHED : 0;
  uo.stdio_count = 3;
  uo.stdio = stdio;
  p->handle.data = p;

  int spawned = 0;
  if (rc == 0) {
    if (o.set_process_group) {
      pthread_once(&pgroup_once, pgroup_init);
      pthread_mutex_lock(&pgroup_lock);
      pgroup_thread = pthread_self();
      pgroup_id = o.process_group;
      atomic_store(&pgroup_active, 1);
    }
    int uvrc = uv_spawn(weft_loop_uv(loop), &p->handle, &uo);
    if (o.set_process_group) {
      atomic_store(&pgroup_active, 0);
      pthread_mutex_unlock(&pgroup_lock);
    }
    spawned = 1; /* the handle is initialised either way */
    rc = uvrc == 0 ? 0 : weft_error_from_uv(uvrc);
  }
  /* The child's ends belong to the child now (or to nobody). */
  for (int i = 0; i < 3; i++)
    if (theirs[i] >= 0)
      close(theirs[i]);
  if (devnull >= 0)
    close(devnull);

  if (rc != 0) {
    for (int i = 0; i < 3; i++) {
      if (ours[i] >= 0)
        close(ours[i]);
      free(p->pipes[i]);
      p->pipes[i] = NULL;
    }
    if (spawned) /* uv_spawn initialised the handle: it must be closed before it goes */
      uv_close((uv_handle_t *)&p->handle, on_failed_spawn_closed);
    else
      free(p);
    return rc;
  }

  p->pid = p->handle.pid;
  p->handle_open = 1;
  p->open_handles = 1;
  for (int i = 0; i < 3; i++) {
    proc_pipe_t *pp = p->pipes[i];
    if (!pp)
      continue;
    pp->proc = p;
    pp->fd = i;
    pp->handle.data = pp;
    uv_pipe_init(weft_loop_uv(loop), &pp->handle, 0);
    p->open_handles++;
    pp->open = 1;
    int prc = uv_pipe_open(&pp->handle, ours[i]);
    if (prc != 0) {
      close(ours[i]);
      pp->lost = 1;
      pp->error = weft_error_from_uv(prc);
      pp->open = 0;
      uv_close((uv_handle_t *)&pp->handle, on_pipe_closed);
    }
  }
  p->refs = 2; /* the user's, and "handles open" */
  p->user_refs = 1;
  p->list = list;
  p->next = list->head;
  if (list->head)
    list->head->prev = p;
  list->head = p;
  proc_call_soon(p, on_connected);
  *out = p;
  return 0;
}

/* /bin/sh -c command, as asyncio's shell form. */
static int shell_argv(const char *command, char *argv[4]) {
  if (!command)
    return WEFT_EINVAL;
  argv[0] = "/bin/sh";
  argv[1] = "-c";
  argv[2] = (char *)command;
  argv[3] = NULL;
  return 0;
}

int weft_subprocess_exec(weft_loop_t *loop, const char *const *argv,
                         const weft_process_options_t *options,
                         const weft_subprocess_protocol_t *protocol, void *arg,
                         weft_process_t **out) {
  return spawn(loop, (char *const *)argv, options, protocol, arg, 0, out);
}

int weft_subprocess_shell(weft_loop_t *loop, const char *command,
                          const weft_process_options_t *options,
                          const weft_subprocess_protocol_t *protocol, void *arg,
                          weft_process_t **out) {
  char *argv[4];
  int rc = shell_argv(command, argv);
  return rc ? rc : spawn(loop, argv, options, protocol, arg, 0, out);
}

int weft_create_subprocess_exec(weft_loop_t *loop, const char *const *argv,
                                const weft_process_options_t *options, weft_process_t **out) {
  return spawn(loop, (char *const *)argv, options, NULL, NULL, 1, out);
}

int weft_create_subprocess_shell(weft_loop_t *loop, const char *command,
                                 const weft_process_options_t *options, weft_process_t **out) {
  char *argv[4];
  int rc = shell_argv(command, argv);
  return rc ? rc : spawn(loop, argv, options, NULL, NULL, 1, out);
}

/* At loop close: no child may be left unreaped, so one still running is killed and
 * waited for here; every handle is closed. */
static void processes_cleanup(void *arg) {
  proc_list_t *list = arg;
  while (list->head) {
    weft_process_t *p = list->head;
    list_remove(p);
    memset(&p->proto, 0, sizeof p->proto); /* nobody is listening any more */
    close_pipes(p);
    if (p->handle_open) {
      p->handle_open = 0;
      uv_process_kill(&p->handle, SIGKILL);
      uv_close((uv_handle_t *)&p->handle, on_process_closed);
      int status;
      while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR) {
      }
      p->exited = 1;
      p->returncode = -SIGKILL;
    }
  }
  free(list);
}

/* ---- The API -------------------------------------------------------------------------- */

weft_process_t *weft_process_retain(weft_process_t *process) {
  process->user_refs++;
  process->refs++;
  return process;
}

void weft_process_release(weft_process_t *process) {
  if (!process)
    return;
  if (--process->user_refs == 0) {
    /* Nobody can be listening now: no more protocol calls. */
    memset(&process->proto, 0, sizeof process->proto);
    process->closed = 1;
    close_pipes(process);
  }
  proc_unref(process);
}

void weft_process_close(weft_process_t *process) {
  if (process->closed)
    return;
  process->closed = 1;
  proc_ref(process);
  close_pipes(process);
  if (!process->exited && process->handle_open)
    uv_process_kill(&process->handle, SIGKILL);
  proc_unref(process);
}

int weft_process_pid(const weft_process_t *process) {
  return process->pid;
}

int weft_process_returncode(const weft_process_t *process, int *code) {
  if (!process->exited)
    return WEFT_EINVALIDSTATE;
  if (code)
    *code = process->returncode;
  return 0;
}

int weft_process_wait(weft_process_t *process, weft_future_t **out) {
  if (!out)
    return WEFT_EINVAL;
  int rc = weft_future_new(process->loop, out);
  if (rc != 0)
    return rc;
  if (process->exit_reported)
    return weft_future_set_result(*out, weft_value_int(process->returncode));
  rc = futlist_push(&process->waiters, *out);
  if (rc != 0) {
    weft_future_release(*out);
    *out = NULL;
  }
  return rc;
}

int weft_process_send_signal(weft_process_t *process, int signum) {
  if (process->exited || !process->handle_open)
    return 0; /* as Popen.send_signal: nothing to signal any more */
  int rc = uv_process_kill(&process->handle, signum);
  return rc ? weft_error_from_uv(rc) : 0;
}

int weft_process_terminate(weft_process_t *process) {
  return weft_process_send_signal(process, SIGTERM);
}

int weft_process_kill(weft_process_t *process) {
  return weft_process_send_signal(process, SIGKILL);
}

int weft_process_write(weft_process_t *process, const void *data, size_t len) {
  proc_pipe_t *pp = process->pipes[0];
  if (!pp)
    return WEFT_EINVAL;
  if (len == 0)
    return 0;
  return pipe_write(pp, data, len);
}

int weft_process_write_eof(weft_process_t *process) {
  proc_pipe_t *pp = process->pipes[0];
  if (!pp)
    return WEFT_EINVAL;
  pipe_write_eof(pp);
  return 0;
}

size_t weft_process_write_buffer_size(const weft_process_t *process) {
  return process->pipes[0] ? process->pipes[0]->wbuffered : 0;
}

int weft_process_drain(weft_process_t *process, weft_future_t **out) {
  proc_pipe_t *pp = process->pipes[0];
  if (!out || !pp)
    return WEFT_EINVAL;
  int rc = weft_future_new(process->loop, out);
  if (rc != 0)
    return rc;
  if (pp->lost && pp->error)
    return weft_future_set_error(*out, pp->error, NULL, NULL, NULL);
  if (pp->wbuffered <= WRITE_LOW_WATER)
    return weft_future_set_result(*out, weft_value_none());
  rc = futlist_push(&pp->drainers, *out);
  if (rc != 0) {
    weft_future_release(*out);
    *out = NULL;
  }
  return rc;
}

static int start_read(weft_process_t *process, int fd, int kind, ptrdiff_t n, weft_future_t **out) {
  if (!out || (fd != 1 && fd != 2) || !process->stream || !process->pipes[fd])
    return WEFT_EINVAL;
  proc_pipe_t *pp = process->pipes[fd];
  if (pp->read_future && !weft_future_done(pp->read_future))
    return WEFT_EINVALIDSTATE;
  if (process->comm_future)
    return WEFT_EINVALIDSTATE;
  if (pp->read_future) {
    weft_future_release(pp->read_future);
    pp->read_future = NULL;
  }
  int rc = weft_future_new(process->loop, out);
  if (rc != 0)
    return rc;
  if (n == 0 && kind == READ_SOME) {
    weft_value_t empty;
    weft_value_bytes(&empty, "", 0);
    return weft_future_set_result(*out, empty);
  }
  pp->read_future = weft_future_retain(*out);
  pp->read_kind = kind;
  pp->read_n = n;
  fulfill_read(pp);
  return 0;
}

int weft_process_read(weft_process_t *process, int fd, ptrdiff_t n, weft_future_t **out) {
  return start_read(process, fd, READ_SOME, n, out);
}

int weft_process_readline(weft_process_t *process, int fd, weft_future_t **out) {
  return start_read(process, fd, READ_LINE, 0, out);
}

int weft_process_communicate(weft_process_t *process, const void *input, size_t len,
                             weft_future_t **out) {
  if (!out || !process->stream)
    return WEFT_EINVAL;
  if (process->comm_future)
    return WEFT_EINVALIDSTATE;
  for (int i = 1; i < 3; i++)
    if (process->pipes[i] && process->pipes[i]->read_future &&
        !weft_future_done(process->pipes[i]->read_future))
      return WEFT_EINVALIDSTATE;
  int rc = weft_future_new(process->loop, out);
  if (rc != 0)
    return rc;
  process->comm_future = weft_future_retain(*out);
  proc_ref(process);
  proc_pipe_t *in = process->pipes[0];
  if (in) {
    if (input && len)
      pipe_write(in, input, len); /* a child that does not read its input is not an error */
    pipe_write_eof(in);
  }
  for (int i = 1; i < 3; i++) {
    proc_pipe_t *pp = process->pipes[i];
    if (pp) {
      pp->collect = 1;
      maybe_resume(pp);
    }
  }
  check_communicate(process);
  proc_unref(process);
  return 0;
}

int weft_process_output(weft_process_t *process, int fd, const char **data, size_t *len) {
  if ((fd != 1 && fd != 2) || !data || !len)
    return WEFT_EINVAL;
  proc_pipe_t *pp = process->pipes[fd];
  *data = pp && pp->buf ? pp->buf + pp->start : "";
  *len = pp ? buffered(pp) : 0;
  return 0;
}
