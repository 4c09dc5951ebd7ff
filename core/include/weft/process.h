/* Subprocesses, as asyncio's create_subprocess_exec / create_subprocess_shell (the stream
 * form) and loop.subprocess_exec / subprocess_shell (the transport + protocol form).
 *
 * A weft_process_t is both asyncio's Process and its SubprocessTransport. It is reference
 * counted; the creator holds one reference. The child is always reaped when it exits, even
 * if nobody waits for it or every reference is gone; dropping the last reference closes
 * the parent's ends of the pipes but does not kill the child (weft_process_close does).
 * Call everything on the loop's thread. */
#ifndef WEFT_PROCESS_H
#define WEFT_PROCESS_H

#include "common.h"
#include "value.h"

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
} weft_process_options_t;

/* The transport + protocol form's callbacks, all optional (NULL), all run on the loop.
 * `fd` is 0, 1 or 2. connection_made comes first and connection_lost last (once the
 * process has exited and every pipe is closed). */
typedef struct weft_subprocess_protocol_s {
  size_t size; /* sizeof(weft_subprocess_protocol_t) */
  void (*connection_made)(weft_process_t *transport, void *arg);
  /* Data the child wrote to stdout (fd 1) or stderr (fd 2); borrowed for the call. */
  void (*pipe_data_received)(weft_process_t *transport, int fd, const char *data, size_t len,
                             void *arg);
  /* A pipe closed: EOF or a write_eof (error 0), or an error code. */
  void (*pipe_connection_lost)(weft_process_t *transport, int fd, int error, void *arg);
  void (*process_exited)(weft_process_t *transport, void *arg);
  void (*connection_lost)(weft_process_t *transport, int error, void *arg);
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
/* Stream form (asyncio.create_subprocess_exec): output pipes are buffered for the
 * weft_process_read* functions, up to `limit` before reading from the child pauses. */
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
/* Sends a signal; nothing happens once the child has exited (as Popen). */
WEFT_API int weft_process_send_signal(weft_process_t *process, int signum);
/* SIGTERM and SIGKILL. */
WEFT_API int weft_process_terminate(weft_process_t *process);
WEFT_API int weft_process_kill(weft_process_t *process);

/* Writes to the child's stdin (a pipe): buffered, never blocks; the data is copied.
 * WEFT_ECLOSED after write_eof or once the pipe is gone, WEFT_EPIPE if the child closed it. */
WEFT_API int weft_process_write(weft_process_t *process, const void *data, size_t len);
/* Closes stdin once what is buffered has been written. */
WEFT_API int weft_process_write_eof(weft_process_t *process);
/* Bytes written but not yet taken by the pipe. */
WEFT_API size_t weft_process_write_buffer_size(const weft_process_t *process);
/* A future done (result none) once the stdin buffer is at or below its low-water mark
 * (16 KiB), as StreamWriter.drain; it fails with the pipe's error if writing failed. */
WEFT_API int weft_process_drain(weft_process_t *process, weft_future_t **out);

/* Stream form, fd 1 or 2 (a pipe). One read at a time per pipe (else WEFT_EINVALIDSTATE).
 * The future's result is bytes: up to `n` bytes as soon as any are there (n < 0: all of
 * it, up to EOF); empty at EOF. */
WEFT_API int weft_process_read(weft_process_t *process, int fd, ptrdiff_t n, weft_future_t **out);
/* Bytes up to and including the next "\n" (less at EOF, empty once at EOF). A line longer
 * than the limit fails with WEFT_ELIMITOVERRUN and the buffered data is dropped. */
WEFT_API int weft_process_readline(weft_process_t *process, int fd, weft_future_t **out);
/* Process.communicate: writes input (may be NULL/0) to stdin if it is a pipe and closes
 * it, reads stdout and stderr (those that are pipes) to EOF, and waits for the exit; all
 * at once, so nothing deadlocks on full pipes. The future's result is the return code
 * (an int); the output is then at weft_process_output. A broken stdin pipe is ignored. */
WEFT_API int weft_process_communicate(weft_process_t *process, const void *input, size_t len,
                                      weft_future_t **out);
/* What communicate collected from fd 1 or 2 (borrowed, valid until the next read or the
 * process goes); empty for a pipe that is not one. */
WEFT_API int weft_process_output(weft_process_t *process, int fd, const char **data, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
