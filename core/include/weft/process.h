/* Subprocesses, as asyncio's create_subprocess_exec / create_subprocess_shell (the stream
 * form) and loop.subprocess_exec / subprocess_shell (the transport + protocol form).
 *
 * A weft_process_t is both asyncio's Process and its SubprocessTransport. It is reference
 * counted; the creator holds one reference. The child is always reaped when it exits, even
 * if nobody waits for it or every reference is gone; dropping the last reference closes
 * the parent's ends of the pipes but does not kill the child (weft_process_close does).
 *
 * Each pipe is a pipe transport (pipe.h: the transport of connect_read_pipe and
 * connect_write_pipe), weft_process_get_pipe_transport gives it: stdin has asyncio's write
 * flow control (buffer size, watermarks, pause_writing/resume_writing), stdout and stderr
 * can be paused. The stream form puts asyncio's streams on them (stream.h): a
 * StreamWriter on stdin and a StreamReader on stdout and stderr, fed as asyncio's
 * SubprocessStreamProtocol does. Call everything on the loop's thread. */
#ifndef WEFT_PROCESS_H
#define WEFT_PROCESS_H

#include "common.h"
#include "value.h"
#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_process_s weft_process_t;

/* Where one of the child's stdin/stdout/stderr goes. */
typedef enum weft_stdio_mode {
  WEFT_STDIO_INHERIT = 0, /* the parent's own (asyncio's None); the default */
  WEFT_STDIO_PIPE = 1,    /* a pipe to the parent (asyncio.subprocess.PIPE) */
  WEFT_STDIO_DEVNULL = 2, /* /dev/null (asyncio.subprocess.DEVNULL) */
  WEFT_STDIO_FD = 3,      /* the parent's file descriptor `fd` (it stays the caller's) */
  WEFT_STDIO_STDOUT = 4,  /* stderr only: wherever stdout goes (asyncio.subprocess.STDOUT) */
} weft_stdio_mode_t;

typedef struct weft_stdio_s {
  int mode; /* a weft_stdio_mode_t */
  int fd;   /* WEFT_STDIO_FD */
} weft_stdio_t;

typedef struct weft_process_options_s {
  size_t size;            /* sizeof(weft_process_options_t) */
  weft_stdio_t stdio[3];  /* stdin, stdout, stderr; zeroed means inherit */
  const char *cwd;        /* the child's working directory; NULL: the parent's */
  const char *const *env; /* "NAME=value" strings, NULL-terminated; NULL: the parent's */
  int new_session;        /* setsid() in the child (start_new_session) */
  int set_process_group;  /* put the child in process group `process_group`... */
  int process_group;      /* ...0 for a new group led by the child (process_group=) */
  size_t limit;           /* stream form: the readers' buffer limit; 0 for 64 KiB */
  /* Descriptors (3 and up) the child inherits at the same numbers, as Popen's pass_fds;
   * every other descriptor of the parent stays close-on-exec as it is. */
  const int *pass_fds;
  size_t pass_fds_count;
  /* The program to run, searched as argv[0] would be; argv[0] stays the child's name.
   * NULL: argv[0] (Popen's executable). */
  const char *executable;
  /* Starts the child in place of posix_spawn, for a binding that must run code in the
   * child before the exec (a fork). Called before weft_subprocess_exec returns, with the
   * program found and the descriptors that become the child's 0, 1 and 2 (the other
   * options above are then the function's to apply); returns the child's pid or a
   * negative weft error. NULL: posix_spawn. */
  int (*start)(const char *path, char *const *argv, const int child_fd[3], void *start_arg);
  void *start_arg;
} weft_process_options_t;

/* Fills *options with the defaults: every field zero (none, off), size set. */
WEFT_API void weft_process_options_init(weft_process_options_t *options);

/* The transport + protocol form's callbacks, all optional (NULL), all run on the loop.
 * `fd` is 0, 1 or 2. connection_made comes first and connection_lost last (once the
 * process has exited and every pipe is closed). arg_free (may be NULL) is called with
 * `arg` exactly once, after connection_lost, or when the process object is freed without
 * one (as weft_protocol_t's, protocol.h). */
typedef struct weft_subprocess_protocol_s {
  size_t size; /* sizeof(weft_subprocess_protocol_t) */
  void (*connection_made)(weft_process_t *transport, void *arg);
  /* Data the child wrote to stdout (fd 1) or stderr (fd 2); borrowed for the call. */
  void (*pipe_data_received)(weft_process_t *transport, int fd, const char *data, size_t len,
                             void *arg);
  /* A pipe closed: EOF or a close (error 0), or an error code. */
  void (*pipe_connection_lost)(weft_process_t *transport, int fd, int error, void *arg);
  void (*process_exited)(weft_process_t *transport, void *arg);
  void (*connection_lost)(weft_process_t *transport, int error, void *arg);
  /* Flow control of the stdin pipe: its write buffer went over the high-water mark / back
   * down to the low-water mark (as asyncio forwards its pipe's pause_writing). */
  void (*pause_writing)(weft_process_t *transport, void *arg);
  void (*resume_writing)(weft_process_t *transport, void *arg);
  weft_free_fn arg_free;
} weft_subprocess_protocol_t;

/* Transport + protocol form: runs argv[0] (searched in PATH) with argv, stdio as in
 * `options` (NULL: inherit all), and reports to `protocol` (copied) with `arg`. A program
 * that cannot be run fails here (WEFT_ENOENT, WEFT_EACCES, ...), nothing is created. */
WEFT_API int weft_subprocess_exec(weft_loop_t *loop, const char *const *argv,
                                  const weft_process_options_t *options,
                                  const weft_subprocess_protocol_t *protocol, void *arg,
                                  weft_process_t **out);
/* As weft_subprocess_exec, running `command` with /bin/sh -c. */
WEFT_API int weft_subprocess_shell(weft_loop_t *loop, const char *command,
                                   const weft_process_options_t *options,
                                   const weft_subprocess_protocol_t *protocol, void *arg,
                                   weft_process_t **out);
/* Stream form (asyncio.create_subprocess_exec): the pipes get streams at once (see
 * weft_process_stdin/stdout/stderr); the readers' limit is options->limit. */
WEFT_API int weft_create_subprocess_exec(weft_loop_t *loop, const char *const *argv,
                                         const weft_process_options_t *options,
                                         weft_process_t **out);
/* Stream form of weft_subprocess_shell. */
WEFT_API int weft_create_subprocess_shell(weft_loop_t *loop, const char *command,
                                          const weft_process_options_t *options,
                                          weft_process_t **out);

WEFT_API weft_process_t *weft_process_retain(weft_process_t *process);
/* Drops a reference; the last one closes the parent's pipe ends (the child keeps running
 * and is reaped when it exits). */
WEFT_API void weft_process_release(weft_process_t *process);
/* asyncio's SubprocessTransport.close: closes the pipes and kills the child if it is
 * still running. Harmless twice. */
WEFT_API void weft_process_close(weft_process_t *process);

WEFT_API int weft_process_pid(const weft_process_t *process);
/* 0 with *code set once the child has exited: its exit status, or minus the signal that
 * killed it (as asyncio); WEFT_EINVALIDSTATE while it runs. */
WEFT_API int weft_process_returncode(const weft_process_t *process, int *code);
/* A future whose result (an int) is the return code once the child exits. */
WEFT_API int weft_process_wait(weft_process_t *process, weft_future_t **out);
/* Sends a signal. WEFT_ESRCH once the child was reaped (asyncio's ProcessLookupError):
 * its pid is never signalled again, as it may be another process's by then. */
WEFT_API int weft_process_send_signal(weft_process_t *process, int signum);
/* SIGTERM and SIGKILL. */
WEFT_API int weft_process_terminate(weft_process_t *process);
WEFT_API int weft_process_kill(weft_process_t *process);

/* SubprocessTransport.get_pipe_transport: the transport of the child's fd 0, 1 or 2 when it
 * is a pipe, else NULL. Borrowed: valid while the process is (retain it to keep it). Both
 * forms. Writing to stdin: weft_transport_write; EOF: weft_transport_close (it flushes). */
WEFT_API weft_transport_t *weft_process_get_pipe_transport(const weft_process_t *process, int fd);

/* Stream form: Process.stdin, .stdout, .stderr. NULL when that fd is not a pipe (or in the
 * transport + protocol form). Borrowed, as the transports; retain them to keep them longer
 * (the pipes still close with the process's last reference). Close stdin with
 * weft_stream_close (it flushes first); nothing feeds the stdin writer's own reader
 * (asyncio's has none). The readers get EOF when the child closes its end, and stdin is
 * closed for you once the child has exited and stdout and stderr are at EOF (as asyncio). */
WEFT_API weft_stream_writer_t *weft_process_stdin(const weft_process_t *process);
WEFT_API weft_stream_reader_t *weft_process_stdout(const weft_process_t *process);
WEFT_API weft_stream_reader_t *weft_process_stderr(const weft_process_t *process);

/* Process.communicate, stream form: writes input (may be NULL/0) to stdin if it is a pipe,
 * drains and closes it; reads stdout and stderr (those that are pipes) to EOF; and waits
 * for the exit; all at once, so nothing deadlocks on full pipes. The future's result is
 * the return code (an int); the output is then at weft_process_output. A broken stdin pipe
 * is ignored, a read error fails the future. WEFT_EINVALIDSTATE while another communicate
 * or a read on stdout/stderr is pending. */
WEFT_API int weft_process_communicate(weft_process_t *process, const void *input, size_t len,
                                      weft_future_t **out);
/* What communicate collected from fd 1 or 2 (borrowed, valid while the process is); empty
 * before communicate is done and for a fd that is not a pipe. */
WEFT_API int weft_process_output(const weft_process_t *process, int fd, const char **data,
                                 size_t *len);

#ifdef __cplusplus
}
#endif
#endif
