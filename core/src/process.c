/* Subprocesses on uv_spawn: the transport + protocol form and the stream form, laid out as
 * asyncio's base_subprocess.py and subprocess.py.
 *
 * The process (spawning, exit, signals, the protocol's callbacks, waiters) owns one pipe
 * transport per piped fd: pipe.c's, the transport connect_read_pipe and connect_write_pipe
 * make. A small protocol of ours on each forwards its events to the subprocess protocol
 * (asyncio's ReadSubprocessPipeProto / WriteSubprocessPipeProto). The stream form is the
 * same process with an internal subprocess protocol, asyncio's SubprocessStreamProtocol:
 * a StreamReader per output pipe, fed from pipe_data_received, and a StreamWriter on stdin
 * given the stdin pipe's flow-control events. communicate is built on those streams.
 *
 * Pipes are made here (pipe2 with O_CLOEXEC) and handed to uv_spawn as inherited fds,
 * rather than with UV_CREATE_PIPE, so stderr can share stdout's pipe (STDOUT mode) and
 * no end leaks into children that other threads spawn meanwhile.
 *
 * Lifetime: `refs` counts the user's references, one for "handles still open" (the
 * process handle, and each pipe transport until its connection_lost), one per scheduled
 * loop callback and one for a running communicate. The process handle stays open until
 * the child has exited (libuv reaps it then), so an exited child is always reaped whoever
 * holds what. */
#include "internal.h"
#include "net.h"
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

typedef struct futlist_s {
  weft_future_t **items;
  size_t len, cap;
} futlist_t;

typedef struct proc_pipe_s {
  weft_process_t *proc;
  weft_transport_t *t; /* NULL: the fd is not a pipe (or its transport could not be made) */
  int fd;              /* 0, 1 or 2 in the child */
  int lost;            /* the transport's connection_lost came: EOF, error or closed */
  int lost_reported;   /* pipe_connection_lost delivered */
  int error;           /* why, when it was an error */
  int pause_reported;  /* stdin: pause_writing delivered, resume_writing not yet */
} proc_pipe_t;

typedef struct proc_list_s {
  weft_process_t *head;
} proc_list_t;

typedef struct comm_s {
  weft_process_t *proc;
  weft_future_t *future;   /* the caller's */
  weft_future_t *parts[4]; /* stdin's drain, the reads of fd 1 and 2, the wait */
  int pending;
} comm_t;

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
  int connected;     /* connection_made delivered (the stream form: from the start) */
  int exit_reported; /* process_exited delivered, waiters woken */
  int finished;      /* connection_lost delivered */
  int closed;        /* weft_process_close or the last user reference */
  int stream;        /* the stream form: proto is stream_protocol below */
  weft_subprocess_protocol_t proto;
  void *proto_arg;
  proc_pipe_t pipes[3];
  futlist_t waiters;
  /* The stream form (SubprocessStreamProtocol's state). */
  weft_stream_reader_t *readers[3]; /* [1] stdout, [2] stderr */
  weft_stream_writer_t *writer;     /* stdin */
  weft_protocol_t writer_proto;     /* the writer's protocol: stdin's events go there */
  void *writer_arg;
  comm_t *comm;
  weft_value_t output[3]; /* what communicate read from fd 1 and 2 */
  proc_list_t *list;      /* the loop's live processes, until every handle is closed */
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
    weft_transport_release(p->pipes[i].t);
    weft_stream_reader_release(p->readers[i]);
    weft_value_clear(&p->output[i]);
  }
  weft_stream_writer_release(p->writer);
  futlist_finish(&p->waiters, WEFT_ECLOSED, 0);
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

/* Closes the parent's pipe ends (stdin once what it buffered is written). */
static void close_pipes(weft_process_t *p) {
  for (int i = 0; i < 3; i++)
    if (p->pipes[i].t && !p->pipes[i].lost)
      weft_transport_close(p->pipes[i].t);
}

static void try_finish(weft_process_t *p) {
  if (p->finished || !p->exit_reported)
    return;
  for (int i = 0; i < 3; i++)
    if (p->pipes[i].t && !p->pipes[i].lost)
      return;
  p->finished = 1;
  if (p->proto.connection_lost)
    p->proto.connection_lost(p, 0, p->proto_arg);
}

/* ---- The pipes' protocol: forwards each pipe transport's events to the process -------- */

/* Tells the protocol once, and never before connection_made. */
static void report_lost(proc_pipe_t *pp) {
  weft_process_t *p = pp->proc;
  if (!pp->lost || pp->lost_reported || !p->connected)
    return;
  pp->lost_reported = 1;
  if (p->proto.pipe_connection_lost)
    p->proto.pipe_connection_lost(p, pp->fd, pp->error, p->proto_arg);
}

static void pipe_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  proc_pipe_t *pp = arg;
  weft_process_t *p = pp->proc;
  if (p->proto.pipe_data_received)
    p->proto.pipe_data_received(p, pp->fd, data, len, p->proto_arg);
}

static void pipe_lost(weft_transport_t *t, int error, void *arg) {
  proc_pipe_t *pp = arg;
  weft_process_t *p = pp->proc;
  pp->lost = 1;
  pp->error = error;
  proc_ref(p); /* the callbacks may drop the user's reference */
  report_lost(pp);
  try_finish(p);
  handle_closed(p);
  proc_unref(p);
}

static void pipe_pause(weft_transport_t *t, void *arg) {
  proc_pipe_t *pp = arg;
  weft_process_t *p = pp->proc;
  if (!p->connected || pp->pause_reported)
    return; /* before connection_made: on_connected reports it */
  pp->pause_reported = 1;
  if (p->proto.pause_writing)
    p->proto.pause_writing(p, p->proto_arg);
}

static void pipe_resume(weft_transport_t *t, void *arg) {
  proc_pipe_t *pp = arg;
  weft_process_t *p = pp->proc;
  if (!pp->pause_reported)
    return;
  pp->pause_reported = 0;
  if (p->proto.resume_writing)
    p->proto.resume_writing(p, p->proto_arg);
}

static const weft_protocol_t pipe_protocol = {
    .size = sizeof(weft_protocol_t),
    .data_received = pipe_data,
    .connection_lost = pipe_lost,
    .pause_writing = pipe_pause,
    .resume_writing = pipe_resume,
};

/* ---- The stream form's protocol: asyncio's SubprocessStreamProtocol ------------------- */

static void sp_data(weft_process_t *p, int fd, const char *data, size_t len, void *arg) {
  weft_stream_feed_data(p->readers[fd], data, len);
}

/* Once the child has exited and its output pipes are at EOF, the rest is closed. */
static void sp_maybe_close(weft_process_t *p) {
  if (p->exit_reported && (!p->pipes[1].t || p->pipes[1].lost) &&
      (!p->pipes[2].t || p->pipes[2].lost))
    close_pipes(p);
}

static void sp_pipe_lost(weft_process_t *p, int fd, int error, void *arg) {
  if (fd == 0) {
    if (p->writer_proto.connection_lost) /* wakes drain, as FlowControlMixin */
      p->writer_proto.connection_lost(p->pipes[0].t, error, p->writer_arg);
    return;
  }
  weft__stream_reader_attach(p->readers[fd], NULL);
  if (error)
    weft_stream_set_error(p->readers[fd], error);
  else
    weft_stream_feed_eof(p->readers[fd]);
  sp_maybe_close(p);
}

static void sp_exited(weft_process_t *p, void *arg) {
  sp_maybe_close(p);
}

static void sp_pause(weft_process_t *p, void *arg) {
  if (p->writer_proto.pause_writing)
    p->writer_proto.pause_writing(p->pipes[0].t, p->writer_arg);
}

static void sp_resume(weft_process_t *p, void *arg) {
  if (p->writer_proto.resume_writing)
    p->writer_proto.resume_writing(p->pipes[0].t, p->writer_arg);
}

static const weft_subprocess_protocol_t stream_protocol = {
    .size = sizeof(weft_subprocess_protocol_t),
    .pipe_data_received = sp_data,
    .pipe_connection_lost = sp_pipe_lost,
    .process_exited = sp_exited,
    .pause_writing = sp_pause,
    .resume_writing = sp_resume,
};

/* ---- The process ---------------------------------------------------------------------- */

static void deliver_exit(weft_process_t *p) {
  if (p->exit_reported)
    return;
  p->exit_reported = 1;
  proc_ref(p);
  if (p->proto.process_exited)
    p->proto.process_exited(p, p->proto_arg);
  futlist_finish(&p->waiters, 0, p->returncode);
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

/* The transport + protocol form, from the loop: connection_made, then what happened
 * meanwhile (output pipes start reading only now). */
static void on_connected(void *arg) {
  weft_process_t *p = arg;
  p->connected = 1;
  for (int i = 1; i < 3; i++) /* nothing is read before we return: connection_made is first */
    if (p->pipes[i].t && !p->closed)
      weft_transport_resume_reading(p->pipes[i].t);
  if (p->proto.connection_made)
    p->proto.connection_made(p, p->proto_arg);
  for (int i = 0; i < 3; i++) {
    proc_pipe_t *pp = &p->pipes[i];
    if (!pp->t)
      continue;
    if (i == 0 && pp->t->writing_paused)
      pipe_pause(pp->t, pp);
    report_lost(pp);
  }
  if (p->exited)
    deliver_exit(p);
  try_finish(p);
  proc_unref(p);
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
    weft__copy_sized(&o, sizeof o, options);
  }
  if (o.stdio[0].mode == WEFT_STDIO_STDOUT || o.stdio[1].mode == WEFT_STDIO_STDOUT)
    return WEFT_EINVAL;
  for (int i = 0; i < 3; i++)
    if (o.stdio[i].mode < WEFT_STDIO_INHERIT || o.stdio[i].mode > WEFT_STDIO_STDOUT ||
        (o.stdio[i].mode == WEFT_STDIO_FD && o.stdio[i].fd < 0))
      return WEFT_EINVAL;
  if (o.pass_fds_count && !o.pass_fds)
    return WEFT_EINVAL;
  /* libuv hands the child descriptor i from stdio[i]: a passed fd is an inherited
   * descriptor at its own number, the slots between are left alone (UV_IGNORE). */
  int stdio_count = 3;
  for (size_t i = 0; i < o.pass_fds_count; i++) {
    if (o.pass_fds[i] < 0 || fcntl(o.pass_fds[i], F_GETFD) < 0)
      return WEFT_EBADF;
    if (o.pass_fds[i] >= stdio_count)
      stdio_count = o.pass_fds[i] + 1;
  }

  proc_list_t *list = live_list(loop);
  weft_process_t *p = calloc(1, sizeof *p);
  if (!list || !p) {
    free(p);
    return WEFT_ENOMEM;
  }
  p->loop = loop;
  p->stream = stream;
  if (stream) {
    p->proto = stream_protocol;
    p->proto_arg = p;
  } else {
    if (protocol) {
      if (protocol->size == 0) {
        free(p);
        return WEFT_EINVAL;
      }
      weft__copy_sized(&p->proto, sizeof p->proto, protocol);
    }
    p->proto_arg = arg;
  }

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
      if (stream && i > 0 && (rc = weft_stream_reader_new(loop, o.limit, &p->readers[i])) != 0)
        break;
      if (pipe2(fds, O_CLOEXEC) != 0) {
        rc = -errno;
        break;
      }
      ours[i] = i == 0 ? fds[1] : fds[0];
      theirs[i] = i == 0 ? fds[0] : fds[1];
      child_fd[i] = theirs[i];
      break;
    }
    }
  }
  uv_stdio_container_t stdio_small[3];
  uv_stdio_container_t *stdio =
      stdio_count > 3 ? calloc((size_t)stdio_count, sizeof(*stdio)) : stdio_small;
  if (!stdio) {
    stdio = stdio_small;
    stdio_count = 3;
    if (rc == 0)
      rc = WEFT_ENOMEM;
  }
  for (int i = 0; i < 3; i++) {
    stdio[i].flags = UV_INHERIT_FD;
    stdio[i].data.fd = child_fd[i];
  }
  for (int i = 3; i < stdio_count; i++)
    stdio[i].flags = UV_IGNORE;
  for (size_t i = 0; i < o.pass_fds_count; i++) {
    int fd = o.pass_fds[i];
    if (fd < 3)
      continue; /* the child's stdio is set by stdio[] above */
    stdio[fd].flags = UV_INHERIT_FD;
    stdio[fd].data.fd = fd;
  }
  uv_process_options_t uo;
  memset(&uo, 0, sizeof uo);
  uo.exit_cb = on_child_exit;
  uo.file = argv[0];
  uo.args = (char **)argv;
  uo.env = (char **)o.env;
  uo.cwd = o.cwd;
  uo.flags = o.new_session ? UV_PROCESS_DETACHED : 0;
  uo.stdio_count = stdio_count;
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
  if (stdio != stdio_small)
    free(stdio);
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
      weft_stream_reader_release(p->readers[i]);
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
  p->refs = 2; /* the user's, and "handles open" */
  p->user_refs = 1;
  p->connected = stream; /* the stream form has no connection_made to wait for */
  for (int i = 0; i < 3; i++) {
    proc_pipe_t *pp = &p->pipes[i];
    pp->proc = p;
    pp->fd = i;
    if (ours[i] < 0)
      continue;
    int kind = i == 0 ? WEFT_TRANSPORT_PIPE_WRITE : WEFT_TRANSPORT_PIPE_READ;
    int prc = weft__pipe_transport(loop, kind, ours[i], &pipe_protocol, pp, &pp->t);
    if (prc != 0) { /* the descriptor is closed */
      if (p->readers[i])
        weft_stream_set_error(p->readers[i], prc);
      continue;
    }
    p->open_handles++;
    if (i > 0 && !stream)
      weft_transport_pause_reading(pp->t); /* until connection_made */
    if (p->readers[i])
      weft__stream_reader_attach(p->readers[i], pp->t);
  }
  if (stream && p->pipes[0].t &&
      weft__stream_writer_wrap(p->pipes[0].t, &p->writer_proto, &p->writer_arg, &p->writer) != 0)
    weft_transport_abort(p->pipes[0].t); /* no memory for the writer: no stdin */
  p->list = list;
  p->next = list->head;
  if (list->head)
    list->head->prev = p;
  list->head = p;
  if (!stream)
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
    if (!p->stream)
      memset(&p->proto, 0, sizeof p->proto); /* nobody is listening any more */
    for (int i = 0; i < 3; i++)
      if (p->pipes[i].t && !p->pipes[i].lost)
        weft_transport_abort(p->pipes[i].t);
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
    /* Nobody can be listening now: no more protocol calls (the streams stay fed). */
    if (!process->stream)
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

weft_transport_t *weft_process_get_pipe_transport(const weft_process_t *process, int fd) {
  return fd >= 0 && fd < 3 ? process->pipes[fd].t : NULL;
}

weft_stream_writer_t *weft_process_stdin(const weft_process_t *process) {
  return process->writer;
}

weft_stream_reader_t *weft_process_stdout(const weft_process_t *process) {
  return process->readers[1];
}

weft_stream_reader_t *weft_process_stderr(const weft_process_t *process) {
  return process->readers[2];
}

/* ---- communicate: asyncio's Process.communicate on the streams ------------------------ */

/* One part (stdin fed, a pipe read to EOF, the exit) is over. A read error fails the
 * whole at once; the result, the return code, comes once every part is over. */
static void comm_part_done(comm_t *c, int error) {
  if (error && !weft_future_done(c->future))
    weft_future_set_error(c->future, error, NULL, NULL, NULL);
  if (--c->pending > 0)
    return;
  weft_process_t *p = c->proc;
  if (!weft_future_done(c->future))
    weft_future_set_result(c->future, weft_value_int(p->returncode));
  weft_future_release(c->future);
  for (int i = 0; i < 4; i++)
    weft_future_release(c->parts[i]);
  p->comm = NULL;
  free(c);
  proc_unref(p);
}

/* stdin: written and drained (or broken, which communicate ignores as asyncio): close. */
static void comm_drained(weft_future_t *f, void *arg) {
  comm_t *c = arg;
  weft_future_error(f); /* retrieved: a broken pipe is not reported */
  weft_stream_close(c->proc->writer);
  comm_part_done(c, 0);
}

static void comm_read(weft_future_t *f, void *arg) {
  comm_t *c = arg;
  const weft_value_t *v;
  int rc = weft_future_result(f, &v);
  if (rc == 0) {
    weft_value_t *dst = &c->proc->output[f == c->parts[1] ? 1 : 2];
    weft_value_clear(dst);
    rc = weft_value_bytes(dst, v->ptr, v->len);
  }
  comm_part_done(c, rc);
}

static void comm_exited(weft_future_t *f, void *arg) {
  comm_part_done(arg, 0);
}

int weft_process_communicate(weft_process_t *process, const void *input, size_t len,
                             weft_future_t **out) {
  if (!out || !process->stream)
    return WEFT_EINVAL;
  if (process->comm)
    return WEFT_EINVALIDSTATE;
  comm_t *c = calloc(1, sizeof *c);
  if (!c)
    return WEFT_ENOMEM;
  int rc = weft_future_new(process->loop, &c->future);
  for (int fd = 1; fd < 3 && rc == 0; fd++)
    if (process->readers[fd])
      rc = weft_stream_read(process->readers[fd], -1, &c->parts[fd]);
  if (rc == 0)
    rc = weft_process_wait(process, &c->parts[3]);
  if (rc != 0) {
    for (int i = 0; i < 4; i++) {
      if (c->parts[i])
        weft_future_cancel(c->parts[i], NULL); /* unparks a read */
      weft_future_release(c->parts[i]);
    }
    weft_future_release(c->future);
    free(c);
    return rc;
  }
  if (process->writer) {
    if (input && len)
      weft_stream_write(process->writer, input, len); /* a broken pipe is no error here */
    if (weft_stream_drain(process->writer, &c->parts[0]) != 0)
      weft_stream_close(process->writer);
  }
  c->proc = process;
  proc_ref(process);
  process->comm = c;
  c->pending = 1; /* until every callback is registered */
  static const weft_future_cb cbs[4] = {comm_drained, comm_read, comm_read, comm_exited};
  for (int i = 0; i < 4; i++)
    if (c->parts[i] && weft_future_add_done_callback(c->parts[i], cbs[i], c) == 0)
      c->pending++;
  *out = weft_future_retain(c->future);
  comm_part_done(c, 0);
  return 0;
}

int weft_process_output(const weft_process_t *process, int fd, const char **data, size_t *len) {
  if ((fd != 1 && fd != 2) || !data || !len)
    return WEFT_EINVAL;
  const weft_value_t *v = &process->output[fd];
  *data = v->type == WEFT_VALUE_BYTES ? v->ptr : "";
  *len = v->type == WEFT_VALUE_BYTES ? v->len : 0;
  return 0;
}
