/* The C half of the behaviour cases' trace format (README.md in this directory): one event
 * per line on stdout, tokens separated by single spaces, errors by their name in the core's
 * error table without the WEFT_ prefix, strings and bytes double-quoted with C escapes. */
#ifndef WEFT_CASETRACE_H
#define WEFT_CASETRACE_H

#include <stddef.h>
#include <weft.h>

/* Prints one event: printf-formatted, followed by a newline. */
void casetrace_emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The trace name of an error code: "ECANCELLED", "ECONNREFUSED", "EUNKNOWN" ... */
const char *casetrace_err(int code);
/* Writes `data` as one quoted token into `out` (truncated to `size`); returns `out`. A
 * buffer of 4 * len + 3 bytes always suffices. */
char *casetrace_q(char *out, size_t size, const void *data, size_t len);

/* "true" or "false". */
const char *casetrace_bool(int value);
/* A message as one token: quoted, or `none` for NULL. */
char *casetrace_msg(char *out, size_t size, const char *message);
/* A weft_callback_fn that emits its argument, a string, as the whole line. */
void casetrace_say(void *text);
/* The loop a task runs on. */
weft_loop_t *casetrace_loop(weft_task_t *task);
/* Yields to the loop `steps` times, as that many `await asyncio.sleep(0)`; 0 or the
 * first failure (WEFT_ECANCELLED). */
int casetrace_steps(weft_loop_t *loop, int steps);
/* A group's errors as EGROUP[EIO,EPERM], from weft_taskgroup_errors, into out. */
char *casetrace_group(char *out, size_t size, const weft_taskgroup_t *group);
/* In a task: asyncio.start_server(client, "127.0.0.1", 0, ...) with each client run in a
 * task of its own; `options` may be NULL (client_in_task is set either way). *out gets a
 * reference. */
int casetrace_start_server(weft_loop_t *loop, weft_stream_client_fn client, void *arg,
                           const weft_stream_options_t *options, weft_server_t **out);
/* In a task: server.close(), await server.wait_closed(), and drops the reference. */
int casetrace_close_server(weft_server_t *server);
/* In a task: writer.close(), await writer.wait_closed(); drops the reader's and the
 * writer's references (either may be NULL). */
int casetrace_close_writer(weft_stream_reader_t *reader, weft_stream_writer_t *writer);

#endif
