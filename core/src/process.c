/* Subprocesses: the transport + protocol form and the stream form, laid out as
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
 * Children are started with posix_spawn, not libuv's uv_spawn: uv_spawn forks, and a fork
 * copies the parent's page tables, which for a Python process made a spawn cost 1.8x what
 * CPython's own subprocess (vfork) costs; glibc's posix_spawn shares the parent's memory
 * until the exec. Pipes are made here (pipe2 with O_CLOEXEC), so stderr can share
 * stdout's pipe (STDOUT mode) and no end leaks into children that other threads spawn
 * meanwhile. The loop reaps its own children: a SIGCHLD watcher (uv_signal_t) asks each
 * of its running children with waitpid(pid, WNOHANG), as libuv does for uv_spawn's.
 *
 * Lifetime: `refs` counts the user's references, one for "still open" (the child until it
 * is reaped, and each pipe transport until its connection_lost), one per scheduled loop
 * callback and one for a running communicate. An exited child is always reaped, whoever
 * holds what. */
#include "internal.h"
#include "net.h"
#include "loop_ext.h"
#include "signal_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

extern char **environ;

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
  uv_signal_t sigchld; /* reaps the children of the list */
  size_t running;      /* children not reaped yet: while any, the watcher keeps the loop alive */
} proc_list_t;

/* A running child keeps a host's loop alive (Node's process stays up while one runs, as
 * with its own child_process), through the SIGCHLD watcher's reference. */
static void running_changed(proc_list_t *list, int delta) {
  list->running += (size_t)delta;
  if (list->running == 1 && delta > 0)
    uv_ref((uv_handle_t *)&list->sigchld);
  else if (list->running == 0)
    uv_unref((uv_handle_t *)&list->sigchld);
}

typedef struct comm_s {
  /* On the loop's close list while its callbacks are registered: the close kills the child
   * and closes the pipes without completing what it waits for. */
  weft__closable_t closable;
  weft_process_t *proc;
  weft_future_t *future;   /* the caller's */
  weft_future_t *parts[4]; /* stdin's drain, the reads of fd 1 and 2, the wait */
  int pending;
} comm_t;

struct weft_process_s {
  int refs;
  int user_refs;
  weft_loop_t *loop;
  int running;      /* the child is not reaped yet */
  int open_handles; /* the running child, and each pipe transport until connection_lost */
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
  proc_list_t *list;      /* the loop's live processes, until nothing is open */
  weft_process_t *prev, *next;
  /* Reserved at the spawn, when a failure can still be reported: without memory later, a
   * call never made would hang the waiters for the exit. */
  weft__ready_t connected_call, exit_call;
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

/* Nothing calls the protocol any more: let go of its argument. */
static void let_go_arg(weft_process_t *p) {
  weft_free_fn fn = p->proto.arg_free;
  p->proto.arg_free = NULL;
  weft__let_go(p->loop, fn, p->proto_arg);
}

/* Nobody is listening any more: no more protocol calls. Its argument is still let go of
 * when the process is freed (the stream form's protocol is the core's own, and stays). */
static void silence_protocol(weft_process_t *p) {
  if (p->stream)
    return;
  weft_free_fn arg_free = p->proto.arg_free;
  memset(&p->proto, 0, sizeof p->proto);
  p->proto.arg_free = arg_free;
}

static void proc_free(weft_process_t *p) {
  let_go_arg(p);
  for (int i = 0; i < 3; i++) {
    weft_transport_release(p->pipes[i].t);
    weft_stream_reader_release(p->readers[i]);
    weft_value_clear(&p->output[i]);
  }
  weft_stream_writer_release(p->writer);
  futlist_finish(&p->waiters, WEFT_ECLOSED, 0);
  weft__call_soon_unreserve(p->loop, &p->connected_call);
  weft__call_soon_unreserve(p->loop, &p->exit_call);
  free(p);
}

static void proc_unref(weft_process_t *p) {
  if (--p->refs == 0)
    proc_free(p);
}

static void proc_unref_cb(void *arg) {
  proc_unref(arg);
}

/* Makes a call reserved at the spawn, holding a reference for it, which a loop closing
 * first lets go of instead. */
static void proc_call_soon(weft_process_t *p, weft__ready_t *call) {
  proc_ref(p);
  if (weft__call_soon_reserved(p->loop, call) != 0)
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
  weft__assert_loop_stack_unless(p->stream, "a subprocess protocol's connection_lost");
  if (p->proto.connection_lost)
    p->proto.connection_lost(p, 0, p->proto_arg);
  let_go_arg(p);
}

/* ---- The pipes' protocol: forwards each pipe transport's events to the process -------- */

/* Tells the protocol once, and never before connection_made. */
static void report_lost(proc_pipe_t *pp) {
  weft_process_t *p = pp->proc;
  if (!pp->lost || pp->lost_reported || !p->connected)
    return;
  pp->lost_reported = 1;
  weft__assert_loop_stack_unless(p->stream, "a subprocess protocol's pipe_connection_lost");
  if (p->proto.pipe_connection_lost)
    p->proto.pipe_connection_lost(p, pp->fd, pp->error, p->proto_arg);
}

static void pipe_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  proc_pipe_t *pp = arg;
  weft_process_t *p = pp->proc;
  weft__assert_loop_stack_unless(p->stream, "a subprocess protocol's pipe_data_received");
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

/* pause_writing / resume_writing of the process's protocol. A user's protocol reached from
 * a write inside a stackful task hears it once the loop's stack is back; the stream form's
 * own (the core's) is told at once, so that drain sees the write. */
typedef struct {
  weft_process_t *p;
  int pause;
} flow_call_t;

static void flow_call_run(void *arg) {
  flow_call_t *c = arg;
  weft_process_t *p = c->p;
  weft__assert_loop_stack("a subprocess protocol's flow callback");
  if (c->pause && p->proto.pause_writing)
    p->proto.pause_writing(p, p->proto_arg);
  else if (!c->pause && p->proto.resume_writing)
    p->proto.resume_writing(p, p->proto_arg);
  proc_unref(p);
  free(c);
}

static void call_flow(weft_process_t *p, int pause) {
  flow_call_t *c = p->stream ? NULL : malloc(sizeof *c);
  if (c == NULL) { /* the stream form's own protocol; or out of memory: now */
    if (pause)
      p->proto.pause_writing(p, p->proto_arg);
    else
      p->proto.resume_writing(p, p->proto_arg);
    return;
  }
  *c = (flow_call_t){p, pause};
  proc_ref(p);
  weft__call_or_defer(p->loop, flow_call_run, c);
}

static void pipe_pause(weft_transport_t *t, void *arg) {
  proc_pipe_t *pp = arg;
  weft_process_t *p = pp->proc;
  if (!p->connected || pp->pause_reported)
    return; /* before connection_made: on_connected reports it */
  pp->pause_reported = 1;
  if (p->proto.pause_writing)
    call_flow(p, 1);
}

static void pipe_resume(weft_transport_t *t, void *arg) {
  proc_pipe_t *pp = arg;
  weft_process_t *p = pp->proc;
  if (!pp->pause_reported)
    return;
  pp->pause_reported = 0;
  if (p->proto.resume_writing)
    call_flow(p, 0);
}

static const weft_protocol_t pipe_protocol = {
    .size = sizeof(weft_protocol_t),
    .data_received = pipe_data,
    .connection_lost = pipe_lost,
    .pause_writing = pipe_pause,
    .resume_writing = pipe_resume,
    .datagram_received = weft__core_protocol, /* runs inline on a task's stack */
};

/* ---- The stream form's protocol: asyncio's SubprocessStreamProtocol ------------------- */

static void sp_data(weft_process_t *p, int fd, const char *data, size_t len, void *arg) {
  /* On failure (out of memory) the reader has failed: its reads report it. */
  (void)weft_stream_feed_data(p->readers[fd], data, len);
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
  weft__assert_loop_stack_unless(p->stream, "a subprocess protocol's process_exited");
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

/* The child was reaped with `status`: as Popen's returncode, -N for signal N. */
static void child_reaped(weft_process_t *p, int status) {
  if (p->list != NULL && p->running)
    running_changed(p->list, -1);
  p->exited = 1;
  p->running = 0;
  p->returncode = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
  proc_call_soon(p, &p->exit_call);
  handle_closed(p);
}

/* SIGCHLD: some child exited (signals coalesce, so maybe several): reap ours that did. */
static void on_sigchld(uv_signal_t *handle, int signum) {
  (void)signum;
  proc_list_t *list = handle->data;
  weft_process_t *p = list->head;
  while (p) {
    weft_process_t *next = p->next; /* child_reaped may take p off the list */
    int status;
    pid_t pid;
    if (p->running) {
      while ((pid = waitpid(p->pid, &status, WNOHANG)) < 0 && errno == EINTR) {
      }
      if (pid == p->pid)
        child_reaped(p, status);
      else if (pid < 0) /* someone else reaped it (a waitpid(-1) elsewhere): as asyncio's */
        child_reaped(p, 255 << 8); /* child watchers, report 255 for an unknown status */
    }
    p = next;
  }
}

/* The transport + protocol form, from the loop: connection_made, then what happened
 * meanwhile (output pipes start reading only now). */
static void on_connected(void *arg) {
  weft_process_t *p = arg;
  p->connected = 1;
  for (int i = 1; i < 3; i++) /* nothing is read before we return: connection_made is first */
    if (p->pipes[i].t && !p->closed)
      weft_transport_resume_reading(p->pipes[i].t);
  weft__assert_loop_stack_unless(p->stream, "a subprocess protocol's connection_made");
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

/* ---- Spawning ------------------------------------------------------------------------- */

static void processes_cleanup(void *arg);

static void free_list(uv_handle_t *sigchld) {
  free(sigchld->data);
}

/* The loop's list of processes, made with its SIGCHLD watcher before the first spawn (a
 * child that exits before the watcher starts would never be reported). The watcher does
 * not keep the loop alive. */
static proc_list_t *live_list(weft_loop_t *loop) {
  proc_list_t *list = weft__loop_ext_get(loop, WEFT__EXT_PROCESSES);
  if (list)
    return list;
  list = calloc(1, sizeof *list);
  if (!list || uv_signal_init(weft_loop_uv(loop), &list->sigchld) != 0) {
    free(list);
    return NULL;
  }
  list->sigchld.data = list;
  if (weft__signal_start(&list->sigchld, on_sigchld, SIGCHLD) != 0 ||
      weft__loop_ext_set(loop, WEFT__EXT_PROCESSES, list, processes_cleanup) != 0) {
    uv_close((uv_handle_t *)&list->sigchld, free_list);
    return NULL;
  }
  uv_unref((uv_handle_t *)&list->sigchld);
  return list;
}

/* Whether `path` can be executed: WEFT_ENOENT, WEFT_EACCES (not a regular file, or no
 * permission), or 0. */
static int executable(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0)
    return weft__error_from_errno(errno);
  return S_ISREG(st.st_mode) && access(path, X_OK) == 0 ? 0 : WEFT_EACCES;
}

/* executable(), for `path` as the child sees it: a relative one from its directory `cwd`
 * (the exec comes after the chdir). */
static int executable_from(const char *path, const char *cwd) {
  if (!cwd || path[0] == '/')
    return executable(path);
  char in_cwd[PATH_MAX];
  if ((size_t)snprintf(in_cwd, sizeof in_cwd, "%s/%s", cwd, path) >= sizeof in_cwd)
    return WEFT_ENAMETOOLONG;
  return executable(in_cwd);
}

/* Where execvp would find `file`: the first executable regular file of that name in the
 * PATH of the child's environment (`env`, or the parent's), as uv_spawn and Popen search;
 * a name with a slash is used as it is. Relative paths are the child's: from `cwd` when
 * given. The checks are made
 * here, not only by the exec: posix_spawn learns of a failed exec through memory it shares
 * with the child, which valgrind does not share, and the directory is checked for the
 * same reason. 0, or why the program cannot run (WEFT_ENOENT, WEFT_EACCES, ...). */
static int find_program(const char *file, const char *const *env, const char *cwd, char *path,
                        size_t size) {
  if (cwd) {
    struct stat st;
    if (stat(cwd, &st) != 0)
      return weft__error_from_errno(errno);
    if (!S_ISDIR(st.st_mode))
      return WEFT_ENOTDIR;
  }
  if (strchr(file, '/')) {
    if (strlen(file) >= size)
      return WEFT_ENAMETOOLONG;
    strcpy(path, file);
    return executable_from(path, cwd);
  }
  const char *search = NULL;
  if (env) {
    for (const char *const *e = env; *e && !search; e++)
      if (strncmp(*e, "PATH=", 5) == 0)
        search = *e + 5;
  } else {
    search = getenv("PATH");
  }
  if (!search)
    search = "/bin:/usr/bin"; /* glibc's execvp default, as confstr(_CS_PATH) */
  int rc = WEFT_ENOENT;
  size_t file_len = strlen(file);
  for (const char *dir = search;; dir++) {
    const char *end = strchr(dir, ':');
    size_t dir_len = end ? (size_t)(end - dir) : strlen(dir);
    if (dir_len == 0) /* an empty entry is the working directory */
      dir = ".", dir_len = 1;
    if (dir_len + 1 + file_len < size) {
      memcpy(path, dir, dir_len);
      path[dir_len] = '/';
      memcpy(path + dir_len + 1, file, file_len + 1);
      int found = executable_from(path, cwd);
      if (found == 0)
        return 0;
      if (found == WEFT_EACCES)
        rc = WEFT_EACCES; /* execvp's answer when only unusable files were found */
    }
    if (!end)
      return rc;
    dir = end;
  }
}

/* Whether `fd` is open and close-on-exec: then the child needs a dup2 of it onto itself,
 * which clears the flag (POSIX 2017; glibc 2.29 and later), to inherit it. */
static int close_on_exec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  return flags >= 0 && (flags & FD_CLOEXEC);
}

/* Starts the child: `child_fd[i]` becomes its descriptor i, the passed descriptors stay at
 * their numbers, signal handlers and the signal mask are reset to their defaults (as libuv
 * and Popen's restore_signals do), then the session, process group and directory are set
 * and `path` executed. posix_spawn reports a failed exec as its result. */
static int start_child(const char *path, char *const *argv, const weft_process_options_t *o,
                       int child_fd[3], pid_t *pid) {
  if (o->start) {
    int started = o->start(path, argv, child_fd, o->start_arg);
    if (started < 0)
      return started;
    *pid = (pid_t)started;
    return 0;
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  int moved[3] = {-1, -1, -1};
  int rc = 0;
  if (posix_spawn_file_actions_init(&actions) != 0)
    return WEFT_ENOMEM;
  if (posix_spawnattr_init(&attr) != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return WEFT_ENOMEM;
  }
  /* A descriptor below 3 that goes to another slot could be overwritten by an earlier
   * dup2: move it out of the way first (in the parent, close-on-exec). */
  for (int i = 0; i < 3 && rc == 0; i++) {
    if (child_fd[i] < 3 && child_fd[i] != i) {
      moved[i] = fcntl(child_fd[i], F_DUPFD_CLOEXEC, 3);
      if (moved[i] < 0)
        rc = errno;
    }
  }
  for (int i = 0; i < 3 && rc == 0; i++) {
    if (child_fd[i] != i)
      rc = posix_spawn_file_actions_adddup2(&actions, moved[i] >= 0 ? moved[i] : child_fd[i], i);
    else if (close_on_exec(i)) /* inherited as it is; a closed one stays closed */
      rc = posix_spawn_file_actions_adddup2(&actions, i, i);
  }
  for (size_t i = 0; i < o->pass_fds_count && rc == 0; i++)
    if (o->pass_fds[i] >= 3 && close_on_exec(o->pass_fds[i]))
      rc = posix_spawn_file_actions_adddup2(&actions, o->pass_fds[i], o->pass_fds[i]);
  if (rc == 0 && o->cwd)
    rc = posix_spawn_file_actions_addchdir_np(&actions, o->cwd);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (o->new_session)
    flags |= POSIX_SPAWN_SETSID;
  if (o->set_process_group)
    flags |= POSIX_SPAWN_SETPGROUP;
  if (rc == 0)
    rc = posix_spawnattr_setflags(&attr, flags);
  if (rc == 0)
    rc = posix_spawnattr_setsigmask(&attr, &none);
  if (rc == 0)
    rc = posix_spawnattr_setsigdefault(&attr, &all);
  if (rc == 0 && o->set_process_group)
    rc = posix_spawnattr_setpgroup(&attr, o->process_group);
  if (rc == 0)
    rc = posix_spawn(pid, path, &actions, &attr, argv, o->env ? (char *const *)o->env : environ);
  if (rc > 0) /* the posix_spawn functions return an error number */
    rc = weft__error_from_errno(rc);
  for (int i = 0; i < 3; i++)
    if (moved[i] >= 0)
      close(moved[i]);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  return rc;
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
  for (size_t i = 0; i < o.pass_fds_count; i++)
    if (o.pass_fds[i] < 0 || fcntl(o.pass_fds[i], F_GETFD) < 0)
      return WEFT_EBADF;
  char path[PATH_MAX];
  int found = find_program(o.executable ? o.executable : argv[0], o.env, o.cwd, path, sizeof path);
  if (found != 0)
    return found;

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
  if (weft__call_soon_reserve(loop, on_exit_soon, proc_unref_cb, p, &p->exit_call) != 0 ||
      (!stream &&
       weft__call_soon_reserve(loop, on_connected, proc_unref_cb, p, &p->connected_call) != 0)) {
    weft__call_soon_unreserve(loop, &p->exit_call);
    free(p);
    return WEFT_ENOMEM;
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
  pid_t pid = 0;
  if (rc == 0)
    rc = start_child(path, argv, &o, child_fd, &pid);
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
    weft__call_soon_unreserve(loop, &p->connected_call);
    weft__call_soon_unreserve(loop, &p->exit_call);
    free(p);
    return rc;
  }

  p->pid = pid;
  p->running = 1;
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
  if (p->running)
    running_changed(list, +1);
  if (!stream)
    proc_call_soon(p, &p->connected_call);
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
  uv_close((uv_handle_t *)&list->sigchld, free_list);
  while (list->head) {
    weft_process_t *p = list->head;
    list_remove(p);
    silence_protocol(p);
    for (int i = 0; i < 3; i++)
      if (p->pipes[i].t && !p->pipes[i].lost)
        weft_transport_abort(p->pipes[i].t);
    if (p->running) {
      p->running = 0;
      kill(p->pid, SIGKILL);
      int status;
      while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR) {
      }
      p->exited = 1;
      p->returncode = -SIGKILL;
      handle_closed(p);
    }
  }
}

/* ---- The API -------------------------------------------------------------------------- */

weft_process_t *weft_process_retain(weft_process_t *process) {
  if (!process)
    return NULL;
  process->user_refs++;
  process->refs++;
  return process;
}

void weft_process_release(weft_process_t *process) {
  if (!process)
    return;
  if (--process->user_refs == 0) {
    /* Nobody can be listening now: no more protocol calls (the streams stay fed). */
    silence_protocol(process);
    process->closed = 1;
    close_pipes(process);
  }
  proc_unref(process);
}

void weft_process_close(weft_process_t *process) {
  if (!process || process->closed)
    return;
  process->closed = 1;
  proc_ref(process);
  /* Killed before its pipes close, as asyncio's close does (the pipes' descriptors close
   * there an iteration later): a child that saw EOF first could exit on its own. */
  if (process->running)
    kill(process->pid, SIGKILL);
  close_pipes(process);
  proc_unref(process);
}

int weft_process_pid(const weft_process_t *process) {
  return process ? process->pid : WEFT_EINVAL;
}

int weft_process_returncode(const weft_process_t *process, int *code) {
  if (!process)
    return WEFT_EINVAL;
  if (!process->exited)
    return WEFT_EINVALIDSTATE;
  if (code)
    *code = process->returncode;
  return 0;
}

int weft_process_wait(weft_process_t *process, weft_future_t **out) {
  if (!process || !out)
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
  if (!process)
    return WEFT_EINVAL;
  /* Reaped: the pid may be another process's by now, so it is never signalled again.
   * asyncio raises ProcessLookupError once its transport let go of the child. */
  if (!process->running)
    return WEFT_ESRCH;
  /* Not reaped, so the pid is still the child's (a zombie at worst), never a reused one. */
  return kill(process->pid, signum) == 0 ? 0 : weft__error_from_errno(errno);
}

int weft_process_terminate(weft_process_t *process) {
  return weft_process_send_signal(process, SIGTERM);
}

int weft_process_kill(weft_process_t *process) {
  return weft_process_send_signal(process, SIGKILL);
}

weft_transport_t *weft_process_get_pipe_transport(const weft_process_t *process, int fd) {
  return process && fd >= 0 && fd < 3 ? process->pipes[fd].t : NULL;
}

weft_stream_writer_t *weft_process_stdin(const weft_process_t *process) {
  return process ? process->writer : NULL;
}

weft_stream_reader_t *weft_process_stdout(const weft_process_t *process) {
  return process ? process->readers[1] : NULL;
}

weft_stream_reader_t *weft_process_stderr(const weft_process_t *process) {
  return process ? process->readers[2] : NULL;
}

/* ---- communicate: asyncio's Process.communicate on the streams ------------------------ */

static void comm_free(comm_t *c) {
  weft_process_t *p = c->proc;
  weft__loop_untrack(&c->closable);
  weft_future_release(c->future);
  for (int i = 0; i < 4; i++)
    weft_future_release(c->parts[i]);
  p->comm = NULL;
  free(c);
  proc_unref(p);
}

static void comm_drained(weft_future_t *f, void *arg);
static void comm_read(weft_future_t *f, void *arg);
static void comm_exited(weft_future_t *f, void *arg);
static const weft_future_cb comm_cbs[4] = {comm_drained, comm_read, comm_read, comm_exited};

/* The loop closes: the callbacks still registered come off, those already scheduled are
 * dropped unrun with the ready queue, and the caller's future stays pending. */
static void comm_close_now(weft__closable_t *self) {
  comm_t *c = (comm_t *)(void *)((char *)self - offsetof(comm_t, closable));
  for (int i = 0; i < 4; i++)
    if (c->parts[i])
      weft_future_remove_done_callback(c->parts[i], comm_cbs[i], c);
  comm_free(c);
}

/* One part (stdin fed, a pipe read to EOF, the exit) is over. A read error fails the
 * whole at once; the result, the return code, comes once every part is over. */
static void comm_part_done(comm_t *c, int error) {
  if (error && !weft_future_done(c->future))
    weft_future_set_error(c->future, error, NULL, NULL, NULL);
  if (--c->pending > 0)
    return;
  if (!weft_future_done(c->future))
    weft_future_set_result(c->future, weft_value_int(c->proc->returncode));
  comm_free(c);
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
  if (!process || !out || !process->stream)
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
  c->closable.close_now = comm_close_now;
  weft__loop_track(process->loop, &c->closable);
  for (int i = 0; i < 4; i++)
    if (c->parts[i] && weft_future_add_done_callback(c->parts[i], comm_cbs[i], c) == 0)
      c->pending++;
  *out = weft_future_retain(c->future);
  comm_part_done(c, 0);
  return 0;
}

int weft_process_output(const weft_process_t *process, int fd, const char **data, size_t *len) {
  if (!process || (fd != 1 && fd != 2) || !data || !len)
    return WEFT_EINVAL;
  const weft_value_t *v = &process->output[fd];
  *data = v->type == WEFT_VALUE_BYTES ? v->ptr : "";
  *len = v->type == WEFT_VALUE_BYTES ? v->len : 0;
  return 0;
}

void weft_process_options_init(weft_process_options_t *options) {
  if (options == NULL)
    return;
  memset(options, 0, sizeof(*options));
  options->size = sizeof(*options);
}
