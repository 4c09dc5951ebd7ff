/* Fuzz target: the stream reader against a reference model of asyncio's StreamReader.
 *
 * The input is a script: a header (future or task form, the limit, up to three separators)
 * and then operations (feed a chunk, feed EOF, set an error, start read / read(-1) /
 * readline / readexactly / readuntil, cancel the waiting read, run the loop). A real weft
 * loop runs the reader; the model below, written from CPython 3.13's Lib/asyncio/streams.py,
 * predicts every outcome (bytes, IncompleteReadError's partial data and expected size,
 * LimitOverrunError's consumed count and what stays buffered, readline's overrun, read(-1))
 * and the harness aborts on the first difference.
 *
 * Where weft documents a deliberate difference the model follows weft's documentation:
 *   - stream.h: only one read may wait at a time; any other read started meanwhile fails
 *     with WEFT_EINVALIDSTATE (asyncio raises only when the second read has to wait too).
 *     read(0) needs no waiting and is answered at once, as in asyncio.
 *   - readline's overrun is WEFT_ELIMITOVERRUN (asyncio's ValueError) with the same buffer
 *     effect.
 * With a fake transport attached, the reader's flow control is checked too (see check_flow).
 * The consumer of a waiting read runs after every feed (weft tries the read at each feed;
 * asyncio's task runs on the next iteration, which is the same when one feed comes per
 * iteration, as from a transport). */
#include <weft.h>

#include "net.h" /* weft__stream_reader_attach */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- input cursor ------------------------------------------------------------------------- */

typedef struct cursor {
  const uint8_t *p;
  size_t n;
} cursor_t;

static uint8_t next_u8(cursor_t *c) {
  if (c->n == 0)
    return 0;
  c->n--;
  return *c->p++;
}

/* Fed bytes come from a small alphabet so that separators occur often. */
static char map_byte(uint8_t b) {
  static const char alphabet[4] = {'a', 'b', '\n', 'x'};
  return alphabet[b & 3];
}

/* ---- byte strings --------------------------------------------------------------------------- */

typedef struct bytes {
  char *p;
  size_t len, cap;
} bytes_t;

static void bytes_append(bytes_t *b, const void *data, size_t n) {
  if (b->len + n > b->cap) {
    size_t nc = b->cap ? b->cap : 64;
    while (nc < b->len + n)
      nc *= 2;
    b->p = realloc(b->p, nc);
    if (!b->p)
      abort();
    b->cap = nc;
  }
  if (n)
    memcpy(b->p + b->len, data, n);
  b->len += n;
}

static void bytes_drop_front(bytes_t *b, size_t n) {
  if (n == 0)
    return;
  memmove(b->p, b->p + n, b->len - n);
  b->len -= n;
}

static void bytes_free(bytes_t *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

/* ---- the model --------------------------------------------------------------------------------
 */

enum { K_READ, K_READALL, K_EXACT, K_UNTIL, K_LINE };

typedef struct sep {
  char s[4];
  size_t len;
} sep_t;

typedef struct outcome {
  int rc;          /* 0, or the error */
  bytes_t data;    /* the result, or IncompleteReadError.partial */
  size_t consumed; /* LimitOverrunError.consumed, or IncompleteReadError.expected (0: None) */
} outcome_t;

typedef struct mop {
  int kind;
  size_t n;
  sep_t seps[3]; /* readuntil: sorted by length, as asyncio sorts a tuple */
  size_t nseps;
  size_t offset; /* readuntil's search offset, kept across waits as asyncio's local is */
  bytes_t acc;   /* read(-1): the blocks read so far */
} mop_t;

typedef struct model {
  bytes_t buf;
  int eof;
  int error;
  size_t limit;
} model_t;

static int starts_with(const bytes_t *b, size_t at, const char *s, size_t len) {
  return at + len <= b->len && memcmp(b->p + at, s, len) == 0;
}

/* bytearray.find(sep, offset) */
static long find(const bytes_t *b, const char *s, size_t len, size_t offset) {
  for (size_t i = offset; i + len <= b->len; i++)
    if (memcmp(b->p + i, s, len) == 0)
      return (long)i;
  return -1;
}

static void finish(outcome_t *o, int rc, const char *d, size_t n, size_t consumed) {
  o->rc = rc;
  o->data.len = 0;
  bytes_append(&o->data, d, n);
  o->consumed = consumed;
}

/* asyncio's readuntil body from the top of its `while True` loop. 1: finished (o set),
 * 0: waits. */
static int model_until(model_t *m, mop_t *op, outcome_t *o) {
  size_t min_seplen = op->seps[0].len, max_seplen = op->seps[op->nseps - 1].len;
  for (;;) {
    size_t buflen = m->buf.len;
    if (buflen >= op->offset + min_seplen) {
      long match_start = -1, match_end = -1;
      for (size_t i = 0; i < op->nseps; i++) {
        long isep = find(&m->buf, op->seps[i].s, op->seps[i].len, op->offset);
        if (isep != -1) {
          long end = isep + (long)op->seps[i].len;
          if (match_end == -1 || end < match_end) {
            match_end = end;
            match_start = isep;
          }
        }
      }
      if (match_end != -1) {
        if ((size_t)match_start > m->limit) {
          finish(o, WEFT_ELIMITOVERRUN, NULL, 0, (size_t)match_start);
          return 1;
        }
        finish(o, 0, m->buf.p, (size_t)match_end, 0);
        bytes_drop_front(&m->buf, (size_t)match_end);
        return 1;
      }
      op->offset = buflen + 1 > max_seplen ? buflen + 1 - max_seplen : 0;
      if (op->offset > m->limit) {
        finish(o, WEFT_ELIMITOVERRUN, NULL, 0, op->offset);
        return 1;
      }
    }
    if (m->eof) {
      finish(o, WEFT_EINCOMPLETE, m->buf.p, m->buf.len, 0);
      m->buf.len = 0;
      return 1;
    }
    return 0;
  }
}

/* Tries the op against the model's state: 1 when it finished (o set), 0 when it waits. */
static int model_try(model_t *m, mop_t *op, outcome_t *o) {
  if (m->error) {
    finish(o, m->error, NULL, 0, 0);
    return 1;
  }
  switch (op->kind) {
  case K_READ: {
    if (op->n == 0) {
      finish(o, 0, NULL, 0, 0);
      return 1;
    }
    if (m->buf.len == 0 && !m->eof)
      return 0;
    size_t n = op->n < m->buf.len ? op->n : m->buf.len;
    finish(o, 0, m->buf.p, n, 0);
    bytes_drop_front(&m->buf, n);
    return 1;
  }
  case K_READALL:
    /* read(-1) is read(limit) until it returns b'': all that is buffered goes each time. */
    bytes_append(&op->acc, m->buf.p, m->buf.len);
    m->buf.len = 0;
    if (!m->eof)
      return 0;
    finish(o, 0, op->acc.p, op->acc.len, 0);
    return 1;
  case K_EXACT:
    if (op->n == 0) {
      finish(o, 0, NULL, 0, 0);
      return 1;
    }
    if (m->buf.len < op->n) {
      if (!m->eof)
        return 0;
      finish(o, WEFT_EINCOMPLETE, m->buf.p, m->buf.len, op->n);
      m->buf.len = 0;
      return 1;
    }
    finish(o, 0, m->buf.p, op->n, 0);
    bytes_drop_front(&m->buf, op->n);
    return 1;
  case K_UNTIL:
    return model_until(m, op, o);
  case K_LINE: {
    if (!model_until(m, op, o))
      return 0;
    if (o->rc == WEFT_EINCOMPLETE) {
      o->rc = 0; /* readline returns the partial line */
      o->consumed = 0;
    } else if (o->rc == WEFT_ELIMITOVERRUN) {
      if (starts_with(&m->buf, o->consumed, "\n", 1))
        bytes_drop_front(&m->buf, o->consumed + 1);
      else
        m->buf.len = 0;
    }
    return 1;
  }
  }
  abort();
}

/* ---- the harness ------------------------------------------------------------------------------
 */

typedef struct run run_t;

/* A read as weft runs it: a future, or a task calling the *_await form. */
typedef struct real_op {
  run_t *run;
  int kind;
  int64_t n;
  int into; /* task form of readexactly: weft_stream_readexactly_into_await */
  const void *sepv[3];
  size_t sepl[3];
  size_t nseps;
  weft_future_t *future;
  weft_task_t *task;
  int task_done;
  int rc;
  weft_value_t value;
  char *into_buf;
  size_t nread;
} real_op_t;

struct run {
  weft_loop_t *loop;
  weft_stream_reader_t *reader;
  weft_transport_t *wire; /* a fake transport for the reader's flow control, or NULL */
  int paused;             /* what the reader did to it last */
  model_t model;
  int task_mode;
  sep_t seps[3];
  size_t nseps;
  /* The waiting read, if any. */
  int pending;
  mop_t mop;
  real_op_t *rop;
  int step;
};

#define CHECK(run, cond, ...)                                                                      \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "fuzz_stream_reader: step %d: %s: ", (run)->step, #cond);                    \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fprintf(stderr, "\n");                                                                       \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

static void quiet_handler(weft_loop_t *loop, const weft_error_context_t *ctx, void *arg) {
  (void)loop;
  (void)ctx;
  (void)arg;
}

static int op_task(weft_task_t *self, void *arg) {
  (void)self;
  real_op_t *op = arg;
  weft_stream_reader_t *r = op->run->reader;
  switch (op->kind) {
  case K_READ:
  case K_READALL:
    op->rc = weft_stream_read_await(r, op->n, &op->value);
    break;
  case K_EXACT:
    if (op->into) {
      op->into_buf = malloc(op->n ? (size_t)op->n : 1);
      if (!op->into_buf)
        abort();
      op->rc = weft_stream_readexactly_into_await(r, op->into_buf, (size_t)op->n, &op->nread);
    } else {
      op->rc = weft_stream_readexactly_await(r, (size_t)op->n, &op->value);
    }
    break;
  case K_LINE:
    op->rc = weft_stream_readline_await(r, &op->value);
    break;
  case K_UNTIL:
    op->rc = weft_stream_readuntil_await(r, op->sepv, op->sepl, op->nseps, &op->value);
    break;
  }
  op->task_done = 1;
  return 0;
}

static void run_loop(run_t *run) {
  for (int i = 0; i < 4; i++)
    weft_loop_run_once(run->loop, 1);
}

static void real_op_free(real_op_t *op) {
  if (op->future)
    weft_future_release(op->future);
  if (op->task)
    weft_task_release(op->task);
  weft_value_clear(&op->value);
  free(op->into_buf);
  free(op);
}

/* Starts the read in weft. Future form: returns the call's code (the future in op->future
 * when 0). Task form: spawns the task and lets it run up to its first wait. */
static int real_start(run_t *run, real_op_t *op) {
  if (!run->task_mode) {
    weft_stream_reader_t *r = run->reader;
    switch (op->kind) {
    case K_READ:
    case K_READALL:
      return weft_stream_read(r, op->n, &op->future);
    case K_EXACT:
      return weft_stream_readexactly(r, (size_t)op->n, &op->future);
    case K_LINE:
      return weft_stream_readline(r, &op->future);
    case K_UNTIL:
      return weft_stream_readuntil(r, op->sepv, op->sepl, op->nseps, &op->future);
    }
    abort();
  }
  int rc = weft_task_spawn(run->loop, op_task, op, NULL, &op->task);
  CHECK(run, rc == 0, "weft_task_spawn: %d", rc);
  run_loop(run);
  return 0;
}

static int real_done(real_op_t *op) {
  return op->future ? weft_future_done(op->future) : op->task_done;
}

static void show(const char *what, const char *p, size_t n) {
  fprintf(stderr, "  %s (%zu): \"", what, n);
  for (size_t i = 0; i < n; i++)
    fprintf(stderr, p[i] == '\n' ? "\\n" : "%c", p[i]);
  fprintf(stderr, "\"\n");
}

/* Compares a finished weft read with the model's outcome. */
static void compare(run_t *run, real_op_t *op, const outcome_t *want) {
  int rc;
  const char *got = NULL;
  size_t got_len = 0;
  int have_consumed = 0;
  size_t consumed = 0;
  if (op->future) {
    const weft_value_t *v = NULL;
    rc = weft_future_result(op->future, &v);
    if (rc == 0) {
      CHECK(run, v && v->type == WEFT_VALUE_BYTES, "a read's result is bytes");
      got = v->ptr;
      got_len = v->len;
    } else if (rc == WEFT_EINCOMPLETE || rc == WEFT_ELIMITOVERRUN) {
      got = weft_stream_error_partial(op->future, &got_len);
      CHECK(run, got != NULL, "the error carries its payload");
      consumed = weft_stream_error_consumed(op->future);
      have_consumed = 1;
    }
  } else {
    rc = op->rc;
    if (op->into_buf) {
      got = op->into_buf;
      got_len = op->nread;
    } else if (op->value.type == WEFT_VALUE_BYTES) {
      got = op->value.ptr;
      got_len = op->value.len;
    }
  }
  if (rc != want->rc ||
      ((rc == 0 || rc == WEFT_EINCOMPLETE) &&
       (got_len != want->data.len || (got_len && memcmp(got, want->data.p, got_len) != 0)))) {
    fprintf(stderr, "mismatch: kind %d n %lld: weft %s, model %s\n", op->kind, (long long)op->n,
            weft_err_name(rc), weft_err_name(want->rc));
    show("weft", got ? got : "", got ? got_len : 0);
    show("model", want->data.p ? want->data.p : "", want->data.len);
    CHECK(run, 0, "outcome differs from the model");
  }
  if (have_consumed && (rc == WEFT_EINCOMPLETE || rc == WEFT_ELIMITOVERRUN))
    CHECK(run, consumed == want->consumed, "consumed/expected: weft %zu, model %zu", consumed,
          want->consumed);
}

/* The transport the reader pauses and resumes (asyncio's flow control of
 * StreamReaderProtocol). */
static int wire_pause(void *impl) {
  ((run_t *)impl)->paused = 1;
  return 0;
}

static int wire_resume(void *impl) {
  ((run_t *)impl)->paused = 0;
  return 0;
}

static const weft_transport_ops_t wire_ops = {
    .size = sizeof(weft_transport_ops_t),
    .pause_reading = wire_pause,
    .resume_reading = wire_resume,
};

/* The flow-control rules that keep a connection from stalling or growing: a read that
 * waits has the transport reading; a paused transport has more than the limit buffered
 * (consuming down to it resumes); after a feed that left more than twice the limit with no
 * read waiting, the transport is paused. */
static void check_flow(run_t *run, int after_feed) {
  if (!run->wire)
    return;
  size_t len = run->model.buf.len, limit = run->model.limit;
  CHECK(run, !(run->paused && run->pending), "paused while a read waits");
  CHECK(run, !run->paused || len > limit, "paused with %zu buffered, limit %zu", len, limit);
  if (after_feed && !run->pending && !run->model.error)
    CHECK(run, run->paused || len <= 2 * limit, "reading on with %zu buffered, limit %zu", len,
          limit);
}

static void check_state(run_t *run) {
  weft_stream_reader_t *r = run->reader;
  model_t *m = &run->model;
  CHECK(run, weft_stream_reader_buffered(r) == m->buf.len, "buffered: weft %zu, model %zu",
        weft_stream_reader_buffered(r), m->buf.len);
  CHECK(run, weft_stream_at_eof(r) == (m->eof && m->buf.len == 0), "at_eof differs");
  CHECK(run, weft_stream_reader_error(r) == m->error, "error differs");
}

/* After anything that may complete the waiting read: checks weft agrees with the model. */
static void settle(run_t *run, int model_finished, outcome_t *o) {
  if (!run->pending)
    return;
  if (run->task_mode)
    run_loop(run);
  if (model_finished) {
    CHECK(run, real_done(run->rop), "the model finished the read, weft did not (kind %d)",
          run->rop->kind);
    compare(run, run->rop, o);
    real_op_free(run->rop);
    run->rop = NULL;
    bytes_free(&run->mop.acc);
    run->pending = 0;
  } else {
    CHECK(run, !real_done(run->rop), "weft finished a read the model still waits on (kind %d)",
          run->rop->kind);
  }
}

static void on_buffer_change(run_t *run) {
  outcome_t o = {0};
  int fin = run->pending ? model_try(&run->model, &run->mop, &o) : 0;
  settle(run, fin, &o);
  bytes_free(&o.data);
}

static void sort_seps(mop_t *op) {
  /* a stable insertion sort by length, as Python's sorted(key=len) */
  for (size_t i = 1; i < op->nseps; i++) {
    sep_t s = op->seps[i];
    size_t j = i;
    while (j > 0 && op->seps[j - 1].len > s.len) {
      op->seps[j] = op->seps[j - 1];
      j--;
    }
    op->seps[j] = s;
  }
}

static void start_read(run_t *run, int kind, int64_t n, unsigned mask, int into) {
  real_op_t *op = calloc(1, sizeof *op);
  if (!op)
    abort();
  op->run = run;
  op->kind = kind;
  op->n = n;
  op->into = into;
  mop_t mop = {.kind = kind, .n = n < 0 ? 0 : (size_t)n};
  if (kind == K_UNTIL) {
    for (size_t i = 0; i < run->nseps; i++)
      if (mask & (1u << i)) {
        op->sepv[op->nseps] = run->seps[i].s;
        op->sepl[op->nseps] = run->seps[i].len;
        op->nseps++;
        mop.seps[mop.nseps++] = run->seps[i];
      }
    sort_seps(&mop);
  } else if (kind == K_LINE) {
    mop.seps[0] = (sep_t){.s = "\n", .len = 1};
    mop.nseps = 1;
  }

  /* What the model says: another read waits -> EINVALIDSTATE (read(0) excepted). */
  outcome_t o = {0};
  int fin;
  int busy = run->pending && !(kind == K_READ && n == 0);
  if (busy) {
    finish(&o, WEFT_EINVALIDSTATE, NULL, 0, 0);
    fin = 1;
  } else {
    fin = model_try(&run->model, &mop, &o);
  }

  int rc = real_start(run, op);
  if (!run->task_mode && rc != 0) {
    CHECK(run, fin && rc == o.rc, "start failed with %s, model %s", weft_err_name(rc),
          fin ? weft_err_name(o.rc) : "waits");
    real_op_free(op);
    bytes_free(&mop.acc);
  } else if (busy || fin) {
    CHECK(run, real_done(op), "weft waits, the model finished the read (kind %d)", kind);
    compare(run, op, &o);
    real_op_free(op);
    bytes_free(&mop.acc);
  } else {
    CHECK(run, !real_done(op), "weft finished a read the model waits on (kind %d)", kind);
    run->pending = 1;
    run->rop = op;
    run->mop = mop;
  }
  bytes_free(&o.data);
}

static void cancel_pending(run_t *run) {
  if (!run->pending)
    return;
  real_op_t *op = run->rop;
  if (op->future) {
    weft_future_cancel(op->future, NULL);
  } else {
    weft_task_cancel(op->task, NULL);
    run_loop(run);
    CHECK(run, op->task_done && op->rc == WEFT_ECANCELLED, "a cancelled read ends cancelled");
  }
  real_op_free(op);
  run->rop = NULL;
  bytes_free(&run->mop.acc); /* read(-1)'s blocks are lost with it, as in asyncio */
  run->pending = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cursor_t c = {data, size};
  run_t run = {0};
  uint8_t flags = next_u8(&c);
  run.task_mode = flags & 1;
  uint8_t lim = next_u8(&c);
  size_t limit = lim >= 240 ? 0 : (size_t)(lim % 40) + 1;
  run.model.limit = limit ? limit : WEFT_STREAM_LIMIT_DEFAULT;
  run.nseps = 1 + next_u8(&c) % 3;
  for (size_t i = 0; i < run.nseps; i++) {
    uint8_t b = next_u8(&c);
    run.seps[i].len = 1 + b % 3;
    for (size_t j = 0; j < run.seps[i].len; j++)
      run.seps[i].s[j] = map_byte(next_u8(&c));
  }

  if (weft_loop_new(&run.loop) != 0)
    abort();
  weft_loop_set_exception_handler(run.loop, quiet_handler, NULL, NULL);
  if (weft_stream_reader_new(run.loop, limit, &run.reader) != 0)
    abort();
  if (flags & 2) {
    weft_protocol_t none = {.size = sizeof none};
    if (weft_transport_new(run.loop, &wire_ops, &run, &none, NULL, &run.wire) != 0)
      abort();
    weft__stream_reader_attach(run.reader, run.wire);
  }

  char chunk[64];
  int trace = getenv("FUZZ_TRACE") != NULL;
  while (c.n > 0) {
    run.step++;
    uint8_t opb = next_u8(&c);
    if (trace)
      fprintf(stderr, "step %d: op %d; buffered %zu, pending %d, paused %d, eof %d\n", run.step,
              opb % 12, run.model.buf.len, run.pending, run.paused, run.model.eof);
    switch (opb % 12) {
    case 0:
    case 1: {
      size_t n = next_u8(&c) % 48;
      for (size_t i = 0; i < n; i++)
        chunk[i] = map_byte(next_u8(&c));
      int rc = weft_stream_feed_data(run.reader, chunk, n);
      if (run.model.eof) {
        CHECK(&run, rc == WEFT_EINVALIDSTATE, "feed after EOF: %s", weft_err_name(rc));
        break;
      }
      CHECK(&run, rc == 0, "feed_data: %s", weft_err_name(rc));
      bytes_append(&run.model.buf, chunk, n);
      on_buffer_change(&run);
      check_flow(&run, n > 0); /* an empty feed changes nothing, in asyncio too */
      break;
    }
    case 2:
      CHECK(&run, weft_stream_feed_eof(run.reader) == 0, "feed_eof");
      run.model.eof = 1;
      on_buffer_change(&run);
      break;
    case 3: {
      static const int codes[] = {WEFT_ECONNRESET, WEFT_ETLS, WEFT_EPIPE};
      int code = codes[next_u8(&c) % 3];
      CHECK(&run, weft_stream_set_error(run.reader, code) == 0, "set_error");
      run.model.error = code;
      on_buffer_change(&run);
      break;
    }
    case 4:
      start_read(&run, K_READ, next_u8(&c) % 20, 0, 0);
      break;
    case 5:
      start_read(&run, K_READALL, -1, 0, 0);
      break;
    case 6:
      start_read(&run, K_LINE, 0, 0, 0);
      break;
    case 7: {
      uint8_t b = next_u8(&c);
      start_read(&run, K_EXACT, b % 50, 0, b >= 128);
      break;
    }
    case 8:
    case 9: {
      unsigned full = (1u << run.nseps) - 1;
      start_read(&run, K_UNTIL, 0, 1 + next_u8(&c) % full, 0);
      break;
    }
    case 10:
      cancel_pending(&run);
      break;
    case 11:
      run_loop(&run);
      break;
    }
    check_state(&run);
    check_flow(&run, 0);
  }

  /* What is left in the buffer must be what the model holds: read it all out. */
  run.step++;
  if (!run.pending && !run.model.error) {
    if (!run.model.eof) {
      CHECK(&run, weft_stream_feed_eof(run.reader) == 0, "feed_eof");
      run.model.eof = 1;
    }
    start_read(&run, K_READALL, -1, 0, 0);
    check_state(&run);
  }

  cancel_pending(&run);
  run_loop(&run);
  weft_stream_reader_release(run.reader);
  if (run.wire)
    weft_transport_release(run.wire);
  weft_loop_close(run.loop);
  weft_loop_release(run.loop);
  bytes_free(&run.model.buf);
  return 0;
}
