/* Streams: asyncio's StreamReader, StreamWriter and StreamReaderProtocol.
 *
 * A read is an op that is tried at once and, when the buffer cannot answer it yet, parked
 * on the reader and tried again on every feed. Future forms complete a future with the
 * bytes; the *_await forms keep the op on the task's stack, use a future only to sleep,
 * and take the bytes directly (no copy through the future). */
#include "net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- reader */

enum { OP_READ, OP_READALL, OP_EXACT, OP_UNTIL, OP_LINE };

typedef struct rop_s {
  int kind;
  size_t n;
  const void *const *seps;
  const size_t *seplens;
  size_t nseps;
  size_t offset; /* readuntil: where the next search starts, as asyncio keeps it */
  char *acc;     /* read(-1): what was taken from the buffer so far */
  size_t acc_len, acc_cap;
  char *into; /* readexactly_into's destination */
  size_t nread;
  weft_future_t *future; /* NULL until the op has to wait */
  weft_value_t *out;     /* await forms: where the bytes go */
  int rc;
  int done;
  int heap; /* a future form's op: freed when it completes */
} rop_t;

struct weft_stream_reader_s {
  int refs;
  weft_loop_t *loop;
  size_t limit;
  char *buf;
  size_t off, len, cap;
  int eof;
  int error;
  weft_transport_t *transport; /* borrowed while connected */
  int paused;
  rop_t *waiter;
};

int weft_stream_reader_new(weft_loop_t *loop, size_t limit, weft_stream_reader_t **out) {
  if (!loop || !out)
    return WEFT_EINVAL;
  weft_stream_reader_t *r = calloc(1, sizeof(*r));
  if (!r)
    return WEFT_ENOMEM;
  r->refs = 1;
  r->loop = loop;
  r->limit = limit ? limit : WEFT_STREAM_LIMIT_DEFAULT;
  *out = r;
  return 0;
}

weft_stream_reader_t *weft_stream_reader_retain(weft_stream_reader_t *r) {
  if (r)
    r->refs++;
  return r;
}

static void op_free(rop_t *op) {
  if (op->future)
    weft_future_release(op->future);
  free(op->acc);
  free(op);
}

void weft_stream_reader_release(weft_stream_reader_t *r) {
  if (!r || --r->refs > 0)
    return;
  if (r->waiter && r->waiter->heap) {
    if (!weft_future_done(r->waiter->future))
      weft_future_cancel(r->waiter->future, NULL);
    op_free(r->waiter);
  }
  free(r->buf);
  free(r);
}

static const char *bdata(const weft_stream_reader_t *r) {
  /* A reader never fed has no buffer; NULL + 0 is undefined in C (readexactly(0)). */
  return r->buf ? r->buf + r->off : "";
}

static void maybe_resume(weft_stream_reader_t *r) {
  if (r->paused && r->len <= r->limit) {
    r->paused = 0;
    if (r->transport)
      weft_transport_resume_reading(r->transport);
  }
}

static void consume(weft_stream_reader_t *r, size_t n) {
  r->off += n;
  r->len -= n;
  if (r->len == 0)
    r->off = 0;
  maybe_resume(r);
}

static int append(char **buf, size_t *len, size_t *cap, size_t *off, const void *data, size_t n) {
  if (*off + *len + n > *cap) {
    if (*off > 0) {
      memmove(*buf, *buf + *off, *len);
      *off = 0;
    }
    if (*len + n > *cap) {
      size_t nc = *cap ? *cap : 4096;
      while (nc < *len + n)
        nc *= 2;
      char *nb = realloc(*buf, nc);
      if (!nb)
        return WEFT_ENOMEM;
      *buf = nb;
      *cap = nc;
    }
  }
  memcpy(*buf + *off + *len, data, n);
  *len += n;
  return 0;
}

/* Ends an op. With data, the bytes are its result. */
static void op_complete(weft_stream_reader_t *r, rop_t *op, int rc, const char *data, size_t len,
                        size_t consumed, const char *message) {
  op->done = 1;
  op->rc = rc;
  if (r->waiter == op)
    r->waiter = NULL;
  if (op->into) {
    if (data)
      memcpy(op->into, data, len);
    op->nread = len;
  } else if (op->out) {
    if (data || rc == 0)
      weft_value_bytes(op->out, data ? data : "", len);
  }
  if (op->future && !weft_future_done(op->future)) {
    if (op->out || op->into) {
      weft_future_set_result(op->future, weft_value_none()); /* only wakes the task */
    } else if (rc == 0) {
      weft_value_t v;
      if (weft_value_bytes(&v, data ? data : "", len) == 0)
        weft_future_set_result(op->future, v);
      else
        weft_future_set_error(op->future, WEFT_ENOMEM, NULL, NULL, NULL);
    } else {
      weft__error_detail_t *p = NULL;
      if (rc == WEFT_EINCOMPLETE || rc == WEFT_ELIMITOVERRUN) {
        p = calloc(1, sizeof(*p) + len);
        if (p) {
          p->kind = WEFT__DETAIL_STREAM;
          p->consumed = consumed;
          p->len = data ? len : 0;
          if (data)
            memcpy(p->data, data, len);
        }
      }
      weft__future_fail_detail(op->future, rc, message, p);
    }
  }
  if (op->heap)
    op_free(op);
}

/* A result made of the buffer's first n bytes, going to a value: when n is at least what
 * would be left after it, the value takes the buffer itself and only what follows is
 * copied into a new buffer (nothing, when the result is everything buffered). The bytes the
 * transport read straight into the buffer (sp_read_into) then become the value with no copy;
 * a message longer than one transport read no longer has its tail copied twice. Returns 0,
 * having done nothing, when that does not apply. */
static int read_head(weft_stream_reader_t *r, rop_t *op, size_t n) {
  if (op->into || r->off != 0 || n == 0 || n > r->len || r->len - n > n || r->cap <= n)
    return 0;
  int to_future = !op->out && op->future && !weft_future_done(op->future);
  if (!op->out && !to_future)
    return 0;
  char *rest = NULL;
  size_t tail = r->len - n;
  if (tail) {
    rest = malloc(tail + 1); /* + 1: the next read may take it whole, NUL included */
    if (!rest)
      return 0; /* the copying path may still manage with less */
    memcpy(rest, r->buf + n, tail);
  }
  char *data = r->buf;
  /* The value is freed with the read: it should not hold twice its bytes. */
  if (r->cap > 2 * (n + 1)) {
    char *shrunk = realloc(data, n + 1);
    if (shrunk)
      data = shrunk;
  }
  data[n] = '\0'; /* as weft_value_bytes leaves it */
  r->buf = rest;
  r->len = tail;
  r->cap = tail ? tail + 1 : 0;
  weft_value_t v = weft_value_none();
  v.type = WEFT_VALUE_BYTES;
  v.ptr = data;
  v.len = n;
  op->done = 1;
  op->rc = 0;
  if (r->waiter == op)
    r->waiter = NULL;
  if (op->out) {
    *op->out = v;
    if (op->future && !weft_future_done(op->future))
      weft_future_set_result(op->future, weft_value_none()); /* only wakes the task */
  } else {
    weft_future_set_result(op->future, v);
  }
  if (op->heap)
    op_free(op);
  maybe_resume(r);
  return 1;
}

/* Returns 1 when the op is finished, 0 when it must wait for more data. */
static int try_op(weft_stream_reader_t *r, rop_t *op) {
  if (r->error) {
    op_complete(r, op, r->error, NULL, 0, 0, NULL);
    return 1;
  }
  switch (op->kind) {
  case OP_READ: {
    if (r->len == 0) {
      if (!r->eof)
        return 0;
      op_complete(r, op, 0, "", 0, 0, NULL);
      return 1;
    }
    size_t n = op->n < r->len ? op->n : r->len;
    if (read_head(r, op, n))
      return 1;
    op_complete(r, op, 0, bdata(r), n, 0, NULL);
    consume(r, n);
    return 1;
  }
  case OP_READALL: {
    if (r->len) {
      size_t z = 0;
      if (append(&op->acc, &op->acc_len, &op->acc_cap, &z, bdata(r), r->len)) {
        op_complete(r, op, WEFT_ENOMEM, NULL, 0, 0, NULL);
        return 1;
      }
      consume(r, r->len);
    }
    if (!r->eof)
      return 0;
    op_complete(r, op, 0, op->acc ? op->acc : "", op->acc_len, 0, NULL);
    return 1;
  }
  case OP_EXACT: {
    if (r->len >= op->n) {
      size_t n = op->n; /* op_complete may free the op */
      if (read_head(r, op, n))
        return 1;
      op_complete(r, op, 0, bdata(r), n, 0, NULL);
      consume(r, n);
      return 1;
    }
    if (!r->eof)
      return 0;
    size_t n = r->len;
    /* The partial data leaves the reader with the error, as in asyncio. */
    char *copy = malloc(n ? n : 1);
    if (copy && n)
      memcpy(copy, bdata(r), n);
    consume(r, n);
    op_complete(r, op, copy ? WEFT_EINCOMPLETE : WEFT_ENOMEM, copy, n, op->n, "incomplete read");
    free(copy);
    return 1;
  }
  case OP_UNTIL:
  case OP_LINE: {
    size_t minsep = SIZE_MAX, maxsep = 0;
    for (size_t i = 0; i < op->nseps; i++) {
      if (op->seplens[i] < minsep)
        minsep = op->seplens[i];
      if (op->seplens[i] > maxsep)
        maxsep = op->seplens[i];
    }
    if (r->len >= op->offset + minsep) {
      size_t mstart = 0, mend = SIZE_MAX;
      for (size_t i = 0; i < op->nseps; i++) {
        const char *hit =
            memmem(bdata(r) + op->offset, r->len - op->offset, op->seps[i], op->seplens[i]);
        if (hit) {
          size_t at = (size_t)(hit - bdata(r));
          /* Of matches ending at the same byte the shortest separator counts (asyncio
           * tries them shortest first): its start is what the limit is checked against. */
          if (at + op->seplens[i] < mend || (at + op->seplens[i] == mend && at > mstart)) {
            mend = at + op->seplens[i];
            mstart = at;
          }
        }
      }
      if (mend != SIZE_MAX) {
        if (mstart > r->limit) {
          if (op->kind == OP_LINE) {
            consume(r, mend); /* readline drops the over-long line */
            op_complete(r, op, WEFT_ELIMITOVERRUN, NULL, 0, mstart,
                        "Separator is found, but chunk is longer than limit");
          } else {
            op_complete(r, op, WEFT_ELIMITOVERRUN, NULL, 0, mstart,
                        "Separator is found, but chunk is longer than limit");
          }
          return 1;
        }
        if (read_head(r, op, mend))
          return 1;
        op_complete(r, op, 0, bdata(r), mend, 0, NULL);
        consume(r, mend);
        return 1;
      }
      size_t next = r->len + 1 > maxsep ? r->len + 1 - maxsep : 0;
      op->offset = next;
      if (next > r->limit) {
        if (op->kind == OP_LINE)
          consume(r, r->len); /* no separator at `consumed`: asyncio clears the buffer */
        op_complete(r, op, WEFT_ELIMITOVERRUN, NULL, 0, next,
                    "Separator is not found, and chunk exceed the limit");
        return 1;
      }
    }
    if (!r->eof)
      return 0;
    size_t n = r->len;
    char *copy = malloc(n ? n : 1);
    if (!copy) {
      op_complete(r, op, WEFT_ENOMEM, NULL, 0, 0, NULL);
      return 1;
    }
    if (n) /* a reader never fed has no buffer at all */
      memcpy(copy, bdata(r), n);
    consume(r, n);
    if (op->kind == OP_LINE)
      op_complete(r, op, 0, copy, n, 0, NULL); /* readline returns the partial line */
    else
      op_complete(r, op, WEFT_EINCOMPLETE, copy, n, 0, "incomplete read");
    free(copy);
    return 1;
  }
  }
  return 1;
}

/* Retries the parked op after the buffer, EOF or error changed. */
static void wake(weft_stream_reader_t *r) {
  rop_t *op = r->waiter;
  if (!op)
    return;
  if (op->future && weft_future_done(op->future)) {
    r->waiter = NULL; /* cancelled while parked */
    if (op->heap)
      op_free(op);
    return;
  }
  try_op(r, op);
}

/* Room for `size` bytes (and the NUL a value keeps) after what is buffered, for the
 * transport to read into: the buffer grows as appending would make it, without the copy.
 * NULL when there is no such room to give (EOF or an error set: nothing more is kept). */
static void *reader_room(weft_stream_reader_t *r, size_t size) {
  if (r->eof || r->error || size == 0 || size > SIZE_MAX - 1 - r->len)
    return NULL;
  size_t need = r->len + size + 1;
  if (r->off + need > r->cap) {
    if (r->len == 0) {
      /* Nothing to keep: a fresh block of the size, which a read may then take whole. */
      r->off = 0;
      if (need > r->cap) {
        char *nb = malloc(need);
        if (!nb)
          return NULL;
        free(r->buf);
        r->buf = nb;
        r->cap = need;
      }
    } else {
      if (r->off > 0) {
        memmove(r->buf, r->buf + r->off, r->len);
        r->off = 0;
      }
      if (need > r->cap) {
        char *nb = realloc(r->buf, need);
        if (!nb)
          return NULL;
        r->buf = nb;
        r->cap = need;
      }
    }
  }
  return r->buf + r->off + r->len;
}

/* 1 when `data` lies in the room after the buffered bytes: reader_room gave it and the
 * transport read into it, so the bytes are in place already. */
static int fed_in_place(const weft_stream_reader_t *r, const char *data, size_t len) {
  return r->buf && data == r->buf + r->off + r->len && len <= r->cap - r->off - r->len;
}

/* After data was added to the buffer: wake the parked op, pause past the limit. */
static void fed(weft_stream_reader_t *r) {
  wake(r);
  /* An op still parked needs more than is buffered: asyncio would pause here, but its
   * waiting coroutine resumes reading as soon as it runs (_wait_for_data). A parked op here
   * never goes back through op_start, so it is not paused at all; pausing left a
   * readexactly(n > 2 * limit) waiting forever. */
  if (r->transport && !r->paused && !r->waiter && r->len > 2 * r->limit) {
    if (weft_transport_pause_reading(r->transport) == 0)
      r->paused = 1;
    else
      r->transport = NULL; /* cannot pause: stop trying, as asyncio */
  }
}

int weft_stream_feed_data(weft_stream_reader_t *r, const void *data, size_t len) {
  if (!r || (len && !data))
    return WEFT_EINVAL;
  if (r->eof)
    return WEFT_EINVALIDSTATE;
  if (len == 0)
    return 0;
  rop_t *op = r->waiter;
  if (op && op->kind == OP_READ && r->len == 0 && !r->error &&
      !(op->future && weft_future_done(op->future))) {
    /* A read parked on an empty buffer takes its bytes straight from the transport's
     * buffer: what appending and then waking it would give, minus a copy of every byte
     * through the reader's buffer (the streams echo's hot path). Any rest is buffered. */
    size_t n = op->n < len ? op->n : len;
    op_complete(r, op, 0, data, n, 0, NULL);
    data = (const char *)data + n;
    len -= n;
    maybe_resume(r);
    if (len == 0)
      return 0;
  }
  if (append(&r->buf, &r->len, &r->cap, &r->off, data, len)) {
    /* Bytes are lost: the stream cannot go on, and a read waiting for them would wait
     * forever. Every read fails from now on, as after set_error. */
    weft_stream_set_error(r, WEFT_ENOMEM);
    return WEFT_ENOMEM;
  }
  fed(r);
  return 0;
}

int weft_stream_feed_eof(weft_stream_reader_t *r) {
  if (!r)
    return WEFT_EINVAL;
  r->eof = 1;
  wake(r);
  return 0;
}

int weft_stream_set_error(weft_stream_reader_t *r, int code) {
  if (!r || code >= 0)
    return WEFT_EINVAL;
  r->error = code;
  wake(r);
  return 0;
}

int weft_stream_reader_error(const weft_stream_reader_t *r) {
  return r ? r->error : WEFT_EINVAL;
}

int weft_stream_at_eof(const weft_stream_reader_t *r) {
  return r && r->eof && r->len == 0;
}

size_t weft_stream_reader_buffered(const weft_stream_reader_t *r) {
  return r ? r->len : 0;
}

size_t weft_stream_reader_limit(const weft_stream_reader_t *r) {
  return r ? r->limit : 0;
}

/* Starts an op: done at once, or parked with a future to wait on. */
static int op_start(weft_stream_reader_t *r, rop_t *op) {
  if (r->waiter) {
    if (r->waiter->future && weft_future_done(r->waiter->future))
      wake(r); /* drops the cancelled one */
    if (r->waiter)
      return WEFT_EINVALIDSTATE;
  }
  if (try_op(r, op))
    return 0;
  int rc = weft_future_new(r->loop, &op->future);
  if (rc)
    return rc;
  r->waiter = op;
  /* A reader paused above 2*limit must read on for an op that needs more (asyncio's
   * _wait_for_data does the same). */
  if (r->paused) {
    r->paused = 0;
    if (r->transport)
      weft_transport_resume_reading(r->transport);
  }
  return 0;
}

static int start_future(weft_stream_reader_t *r, const rop_t *tmpl, weft_future_t **out) {
  if (r->waiter) {
    if (r->waiter->future && weft_future_done(r->waiter->future))
      wake(r); /* drops the cancelled one */
    if (r->waiter)
      return WEFT_EINVALIDSTATE;
  }
  rop_t *op = malloc(sizeof(*op));
  if (!op)
    return WEFT_ENOMEM;
  *op = *tmpl;
  op->heap = 1;
  int rc = weft_future_new(r->loop, &op->future);
  if (rc) {
    free(op);
    return rc;
  }
  weft_future_t *f = weft_future_retain(op->future);
  if (!try_op(r, op)) {
    r->waiter = op;
    if (r->paused) {
      r->paused = 0;
      if (r->transport)
        weft_transport_resume_reading(r->transport);
    }
  }
  *out = f;
  return 0;
}

int weft_stream_read(weft_stream_reader_t *r, int64_t n, weft_future_t **out) {
  if (!r || !out)
    return WEFT_EINVAL;
  rop_t op = {.kind = n < 0 ? OP_READALL : OP_READ, .n = n < 0 ? 0 : (size_t)n};
  if (n == 0) {
    /* Answered at once, though not past an error: asyncio checks that first. */
    weft_future_t *f;
    int rc = weft_future_new(r->loop, &f);
    if (rc)
      return rc;
    if (r->error) {
      weft_future_set_error(f, r->error, NULL, NULL, NULL);
    } else {
      weft_value_t v;
      weft_value_bytes(&v, "", 0);
      weft_future_set_result(f, v);
    }
    *out = f;
    return 0;
  }
  return start_future(r, &op, out);
}

static const char newline = '\n';
static const void *const line_seps[1] = {&newline};
static const size_t line_lens[1] = {1};

int weft_stream_readline(weft_stream_reader_t *r, weft_future_t **out) {
  if (!r || !out)
    return WEFT_EINVAL;
  rop_t op = {.kind = OP_LINE, .seps = line_seps, .seplens = line_lens, .nseps = 1};
  return start_future(r, &op, out);
}

int weft_stream_readexactly(weft_stream_reader_t *r, size_t n, weft_future_t **out) {
  if (!r || !out)
    return WEFT_EINVAL;
  rop_t op = {.kind = OP_EXACT, .n = n};
  return start_future(r, &op, out);
}

static int check_seps(const void *const *seps, const size_t *lens, size_t count) {
  if (!seps || !lens || count == 0)
    return WEFT_EINVAL;
  for (size_t i = 0; i < count; i++)
    if (!seps[i] || lens[i] == 0)
      return WEFT_EINVAL;
  return 0;
}

int weft_stream_readuntil(weft_stream_reader_t *r, const void *const *seps, const size_t *lens,
                          size_t count, weft_future_t **out) {
  if (!r || !out)
    return WEFT_EINVAL;
  int rc = check_seps(seps, lens, count);
  if (rc)
    return rc;
  /* A parked op outlives the caller's arrays: keep copies on the reader's side. They are
   * freed with the op through acc (see below), so one allocation serves both. */
  size_t total = count * (sizeof(void *) + sizeof(size_t));
  for (size_t i = 0; i < count; i++)
    total += lens[i];
  char *block = malloc(total);
  if (!block)
    return WEFT_ENOMEM;
  const void **cs = (const void **)block;
  size_t *cl = (size_t *)(block + count * sizeof(void *));
  char *data = block + count * (sizeof(void *) + sizeof(size_t));
  for (size_t i = 0; i < count; i++) {
    memcpy(data, seps[i], lens[i]);
    cs[i] = data;
    cl[i] = lens[i];
    data += lens[i];
  }
  rop_t op = {.kind = OP_UNTIL, .seps = cs, .seplens = cl, .nseps = count};
  op.acc = block; /* freed with the op; OP_UNTIL never uses acc otherwise */
  rc = start_future(r, &op, out);
  if (rc)
    free(block);
  return rc;
}

const void *weft_stream_error_partial(const weft_future_t *f, size_t *len_out) {
  const weft__error_detail_t *p = weft__future_error_detail(f, WEFT__DETAIL_STREAM);
  if (!p) {
    if (len_out)
      *len_out = 0;
    return NULL;
  }
  if (len_out)
    *len_out = p->len;
  return p->data;
}

size_t weft_stream_error_consumed(const weft_future_t *f) {
  const weft__error_detail_t *p = weft__future_error_detail(f, WEFT__DETAIL_STREAM);
  return p ? p->consumed : 0;
}

/* In a task: the op lives on this stack; the future only puts the task to sleep. */
static int await_op(weft_stream_reader_t *r, rop_t *op) {
  int rc = op_start(r, op);
  if (rc)
    return rc;
  if (!op->done) {
    int arc = weft_await(op->future);
    if (!op->done) {
      /* Cancelled (or not in a task): unpark the op before its stack goes. */
      if (r->waiter == op)
        r->waiter = NULL;
      weft_future_release(op->future);
      free(op->acc);
      return arc ? arc : WEFT_ECANCELLED;
    }
  }
  if (op->future)
    weft_future_release(op->future);
  free(op->acc);
  return op->rc;
}

int weft_stream_read_await(weft_stream_reader_t *r, int64_t n, weft_value_t *out) {
  if (!r || !out)
    return WEFT_EINVAL;
  *out = weft_value_none();
  if (n == 0)
    return r->error ? r->error : weft_value_bytes(out, "", 0);
  rop_t op = {.kind = n < 0 ? OP_READALL : OP_READ, .n = n < 0 ? 0 : (size_t)n, .out = out};
  return await_op(r, &op);
}

int weft_stream_readline_await(weft_stream_reader_t *r, weft_value_t *out) {
  if (!r || !out)
    return WEFT_EINVAL;
  *out = weft_value_none();
  rop_t op = {.kind = OP_LINE, .seps = line_seps, .seplens = line_lens, .nseps = 1, .out = out};
  return await_op(r, &op);
}

int weft_stream_readexactly_await(weft_stream_reader_t *r, size_t n, weft_value_t *out) {
  if (!r || !out)
    return WEFT_EINVAL;
  *out = weft_value_none();
  rop_t op = {.kind = OP_EXACT, .n = n, .out = out};
  return await_op(r, &op);
}

int weft_stream_readuntil_await(weft_stream_reader_t *r, const void *const *seps,
                                const size_t *lens, size_t count, weft_value_t *out) {
  if (!r || !out)
    return WEFT_EINVAL;
  *out = weft_value_none();
  int rc = check_seps(seps, lens, count);
  if (rc)
    return rc;
  rop_t op = {.kind = OP_UNTIL, .seps = seps, .seplens = lens, .nseps = count, .out = out};
  return await_op(r, &op);
}

int weft_stream_readexactly_into_await(weft_stream_reader_t *r, void *buf, size_t n,
                                       size_t *nread_out) {
  if (!r || (n && !buf))
    return WEFT_EINVAL;
  rop_t op = {.kind = OP_EXACT, .n = n, .into = buf};
  int rc = await_op(r, &op);
  if (nread_out)
    *nread_out = op.nread;
  return rc;
}

/* ---------------------------------------------------------------- protocol and writer */

typedef struct waiter_s {
  weft_future_t *future;
  int on_lost_only; /* drain on a closing transport: answered by connection_lost */
} waiter_t;

/* Server-side configuration: the server's (as its factory argument) and each of its
 * connections' until their client callback has run; the caller's argument goes with the
 * last of them. */
typedef struct sconf_s {
  int refs;
  weft_loop_t *loop;
  weft_stream_client_fn client;
  void *arg;
  weft_free_fn arg_free;
  size_t limit;
  int in_task;
} sconf_t;

static void conf_release(void *p) {
  sconf_t *conf = p;
  if (!conf || --conf->refs > 0)
    return;
  weft__let_go(conf->loop, conf->arg_free, conf->arg); /* a client task may be the last */
  free(conf);
}

/* asyncio's StreamReaderProtocol: one per connection. */
typedef struct sconn_s {
  int refs; /* the protocol's (until connection_lost), the writer's, a pending open's */
  weft_loop_t *loop;
  weft_stream_reader_t *reader;
  weft_transport_t *transport;
  int paused;
  int lost;
  int lost_error;
  waiter_t *drains;
  size_t ndrains;
  weft_future_t **closers;
  size_t nclosers;
  sconf_t *conf; /* servers: a reference until the client callback has run */
  int server_side;
  weft_stream_writer_t *task_writer;
} sconn_t;

struct weft_stream_writer_s {
  int refs;
  sconn_t *conn;
};

static void conn_release(sconn_t *c) {
  if (--c->refs > 0)
    return;
  for (size_t i = 0; i < c->ndrains; i++)
    weft_future_release(c->drains[i].future);
  for (size_t i = 0; i < c->nclosers; i++)
    weft_future_release(c->closers[i]);
  free(c->drains);
  free(c->closers);
  if (c->reader)
    c->reader->transport = NULL;
  weft_stream_reader_release(c->reader);
  weft_transport_release(c->transport);
  conf_release(c->conf);
  free(c);
}

static int conn_new(weft_loop_t *loop, size_t limit, sconn_t **out) {
  sconn_t *c = calloc(1, sizeof(*c));
  if (!c)
    return WEFT_ENOMEM;
  int rc = weft_stream_reader_new(loop, limit, &c->reader);
  if (rc) {
    free(c);
    return rc;
  }
  c->refs = 1;
  c->loop = loop;
  *out = c;
  return 0;
}

static int writer_new(sconn_t *c, weft_stream_writer_t **out) {
  weft_stream_writer_t *w = calloc(1, sizeof(*w));
  if (!w)
    return WEFT_ENOMEM;
  w->refs = 1;
  w->conn = c;
  c->refs++;
  *out = w;
  return 0;
}

static int client_task(weft_task_t *self, void *arg) {
  sconn_t *c = arg;
  weft_stream_writer_t *w = c->task_writer;
  c->task_writer = NULL;
  int rc = c->conf->client(c->reader, w, c->conf->arg);
  weft_stream_writer_release(w);
  conf_release(c->conf);
  c->conf = NULL;
  conn_release(c);
  return rc;
}

static void sp_made(weft_transport_t *t, void *arg) {
  sconn_t *c = arg;
  c->transport = weft_transport_retain(t);
  c->reader->transport = t;
  if (!c->conf)
    return;
  weft_stream_writer_t *w;
  if (writer_new(c, &w)) {
    weft_transport_abort(t);
    return;
  }
  if (c->conf->in_task) {
    c->task_writer = w;
    c->refs++;
    if (weft_task_spawn(c->loop, client_task, c, NULL, NULL) != 0) {
      c->task_writer = NULL;
      conn_release(c);
      weft_stream_writer_release(w);
    }
    return;
  }
  c->conf->client(c->reader, w, c->conf->arg);
  weft_stream_writer_release(w);
  conf_release(c->conf);
  c->conf = NULL;
}

/* The transport reads into the reader's buffer when it knows how much is coming (after
 * large reads; a layer's plaintext): a parked read then takes those very bytes as its
 * value (read_head), with no copy from the transport's read buffer. */
static void *sp_read_into(weft_transport_t *t, size_t size, void *arg) {
  (void)t;
  return reader_room(((sconn_t *)arg)->reader, size);
}

static void sp_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  sconn_t *c = arg;
  weft_stream_reader_t *r = c->reader;
  if (len && fed_in_place(r, data, len)) {
    r->len += len;
    fed(r);
    return;
  }
  if (weft_stream_feed_data(r, data, len) != 0)
    weft_transport_abort(t); /* the reader failed (out of memory): the connection ends */
}

static int sp_eof(weft_transport_t *t, void *arg) {
  sconn_t *c = arg;
  weft_stream_feed_eof(c->reader);
  return 1; /* keep the transport open: the writer may still send (asyncio, not over TLS) */
}

static void wake_drains(sconn_t *c, int lost) {
  size_t keep = 0;
  for (size_t i = 0; i < c->ndrains; i++) {
    waiter_t *d = &c->drains[i];
    if (d->on_lost_only && !lost) {
      c->drains[keep++] = *d;
      continue;
    }
    if (!weft_future_done(d->future)) {
      if (d->on_lost_only)
        weft_future_set_error(d->future, c->lost_error ? c->lost_error : WEFT_ECONNRESET,
                              "Connection lost", NULL, NULL);
      else if (lost && c->lost_error)
        weft_future_set_error(d->future, c->lost_error, NULL, NULL, NULL);
      else
        weft_future_set_result(d->future, weft_value_none());
    }
    weft_future_release(d->future);
  }
  c->ndrains = keep;
}

static void sp_lost(weft_transport_t *t, int error, void *arg) {
  sconn_t *c = arg;
  c->lost = 1;
  c->lost_error = error;
  c->reader->transport = NULL;
  if (error)
    weft_stream_set_error(c->reader, error);
  else
    weft_stream_feed_eof(c->reader);
  wake_drains(c, 1);
  for (size_t i = 0; i < c->nclosers; i++) {
    if (!weft_future_done(c->closers[i])) {
      if (error)
        weft_future_set_error(c->closers[i], error, NULL, NULL, NULL);
      else
        weft_future_set_result(c->closers[i], weft_value_none());
    }
    weft_future_release(c->closers[i]);
  }
  c->nclosers = 0;
  conn_release(c); /* the protocol's reference */
}

static void sp_pause(weft_transport_t *t, void *arg) {
  ((sconn_t *)arg)->paused = 1;
}

static void sp_resume(weft_transport_t *t, void *arg) {
  sconn_t *c = arg;
  c->paused = 0;
  wake_drains(c, 0);
}

static const weft_protocol_t stream_protocol = {
    .size = sizeof(weft_protocol_t),
    .connection_made = sp_made,
    .data_received = sp_data,
    .eof_received = sp_eof,
    .connection_lost = sp_lost,
    .pause_writing = sp_pause,
    .resume_writing = sp_resume,
    .datagram_received = weft__core_protocol, /* runs inline on a task's stack */
    .read_into = sp_read_into,
};

void weft__stream_reader_attach(weft_stream_reader_t *r, weft_transport_t *t) {
  r->transport = t;
}

int weft__stream_writer_wrap(weft_transport_t *t, weft_protocol_t *proto_out, void **arg_out,
                             weft_stream_writer_t **out) {
  sconn_t *c;
  int rc = conn_new(t->loop, 0, &c);
  if (rc)
    return rc;
  rc = writer_new(c, out);
  if (rc) {
    conn_release(c);
    return rc;
  }
  *proto_out = stream_protocol;
  *arg_out = c;
  sp_made(t, c);
  return 0;
}

weft_stream_writer_t *weft_stream_writer_retain(weft_stream_writer_t *w) {
  if (w)
    w->refs++;
  return w;
}

void weft_stream_writer_release(weft_stream_writer_t *w) {
  if (!w || --w->refs > 0)
    return;
  /* A writer nobody holds any more closes its transport, as asyncio's __del__. */
  if (w->conn->transport && !w->conn->lost)
    weft_transport_close(w->conn->transport);
  conn_release(w->conn);
  free(w);
}

weft_stream_reader_t *weft_stream_writer_reader(const weft_stream_writer_t *w) {
  return w ? w->conn->reader : NULL;
}

weft_transport_t *weft_stream_writer_transport(const weft_stream_writer_t *w) {
  return w ? w->conn->transport : NULL;
}

int weft_stream_write(weft_stream_writer_t *w, const void *data, size_t len) {
  if (!w)
    return WEFT_EINVAL;
  return weft_transport_write(w->conn->transport, data, len);
}

int weft_stream_writelines(weft_stream_writer_t *w, const void *const *bufs, const size_t *lens,
                           size_t count) {
  if (!w)
    return WEFT_EINVAL;
  return weft_transport_writelines(w->conn->transport, bufs, lens, count);
}

int weft_stream_can_write_eof(const weft_stream_writer_t *w) {
  return w ? weft_transport_can_write_eof(w->conn->transport) : 0;
}

int weft_stream_write_eof(weft_stream_writer_t *w) {
  if (!w)
    return WEFT_EINVAL;
  return weft_transport_write_eof(w->conn->transport);
}

int weft_stream_close(weft_stream_writer_t *w) {
  if (!w)
    return WEFT_EINVAL;
  return weft_transport_close(w->conn->transport);
}

int weft_stream_is_closing(const weft_stream_writer_t *w) {
  return w ? weft_transport_is_closing(w->conn->transport) : 0;
}

int weft_stream_get_extra_info(const weft_stream_writer_t *w, int key, void *buf, size_t *len) {
  if (!w)
    return WEFT_EINVAL;
  return weft_transport_get_extra_info(w->conn->transport, key, buf, len);
}

/* 0 when drain has nothing to wait for, 1 when it must wait, or the error to fail with. */
static int drain_state(const weft_stream_writer_t *w, int *on_lost_only) {
  sconn_t *c = w->conn;
  *on_lost_only = 0;
  if (c->reader->error)
    return c->reader->error;
  if (c->lost)
    return c->lost_error ? c->lost_error : WEFT_ECONNRESET;
  if (weft_transport_is_closing(c->transport)) {
    *on_lost_only = 1;
    return 1;
  }
  return c->paused ? 1 : 0;
}

int weft_stream_drain(weft_stream_writer_t *w, weft_future_t **out) {
  if (!w || !out)
    return WEFT_EINVAL;
  sconn_t *c = w->conn;
  weft_future_t *f;
  int rc = weft_future_new(c->loop, &f);
  if (rc)
    return rc;
  int lost_only;
  int st = drain_state(w, &lost_only);
  if (st < 0) {
    weft_future_set_error(f, st, st == WEFT_ECONNRESET ? "Connection lost" : NULL, NULL, NULL);
  } else if (st == 0) {
    weft_future_set_result(f, weft_value_none());
  } else {
    waiter_t *d = realloc(c->drains, (c->ndrains + 1) * sizeof(*d));
    if (!d) {
      weft_future_release(f);
      return WEFT_ENOMEM;
    }
    c->drains = d;
    d[c->ndrains].future = weft_future_retain(f);
    d[c->ndrains].on_lost_only = lost_only;
    c->ndrains++;
  }
  *out = f;
  return 0;
}

int weft_stream_drain_await(weft_stream_writer_t *w) {
  if (!w)
    return WEFT_EINVAL;
  int lost_only;
  int st = drain_state(w, &lost_only);
  if (st <= 0)
    return st; /* the common case: no future at all */
  weft_future_t *f;
  int rc = weft_stream_drain(w, &f);
  if (rc)
    return rc;
  rc = weft_await(f);
  weft_future_release(f);
  return rc;
}

int weft_stream_wait_closed(weft_stream_writer_t *w, weft_future_t **out) {
  if (!w || !out)
    return WEFT_EINVAL;
  sconn_t *c = w->conn;
  weft_future_t *f;
  int rc = weft_future_new(c->loop, &f);
  if (rc)
    return rc;
  if (c->lost) {
    if (c->lost_error)
      weft_future_set_error(f, c->lost_error, NULL, NULL, NULL);
    else
      weft_future_set_result(f, weft_value_none());
  } else {
    weft_future_t **n = realloc(c->closers, (c->nclosers + 1) * sizeof(*n));
    if (!n) {
      weft_future_release(f);
      return WEFT_ENOMEM;
    }
    c->closers = n;
    c->closers[c->nclosers++] = weft_future_retain(f);
  }
  *out = f;
  return 0;
}

int weft_stream_wait_closed_await(weft_stream_writer_t *w) {
  weft_future_t *f;
  int rc = weft_stream_wait_closed(w, &f);
  if (rc)
    return rc;
  rc = weft_await(f);
  weft_future_release(f);
  return rc;
}

/* ---------------------------------------------------------------- open_connection */

/* An open or a start_tls: the caller's future (outer) over the core's (inner). It lives
 * until the done callbacks of both have run, holding both futures, so that the loop's
 * close, which calls the two callbacks itself, still finds them. */
typedef struct stream_op_s {
  weft_future_t *outer;
  weft_future_t *inner;
  sconn_t *conn;
  int refs; /* one per done callback still due */
  weft__op_watch_t inner_watch, outer_watch;
} stream_op_t;

static void stream_op_unref(stream_op_t *op) {
  if (--op->refs > 0)
    return;
  weft_future_release(op->inner);
  weft_future_release(op->outer);
  free(op);
}

static void on_outer_done(weft_future_t *outer, void *arg) {
  stream_op_t *op = arg;
  if (weft_future_cancelled(outer))
    weft_future_cancel(op->inner, NULL);
  stream_op_unref(op);
}

static void stream_op_watch(stream_op_t *op, weft_future_cb on_inner) {
  op->refs = 2;
  weft__future_watch_op(&op->inner_watch, op->inner, on_inner, op);
  weft__future_watch_op(&op->outer_watch, op->outer, on_outer_done, op);
}

static void release_writer_value(void *p) {
  weft_stream_writer_release(p);
}

static void on_inner_done(weft_future_t *inner, void *arg) {
  stream_op_t *op = arg;
  sconn_t *c = op->conn;
  /* Still pending, the open is being dropped by the loop's close, which completes nothing. */
  int dropped = !weft_future_done(inner);
  int rc = dropped ? WEFT_ECLOSED : weft_future_error(inner);
  if (dropped || weft_future_done(op->outer)) {
    if (rc == 0 && c->transport)
      weft_transport_abort(c->transport); /* connected after the open was cancelled */
  } else {
    weft_stream_writer_t *w = NULL;
    if (rc == 0)
      rc = writer_new(c, &w);
    if (rc == 0)
      weft_future_set_result(op->outer,
                             weft__value_object(WEFT_VALUE_STREAM_WRITER, w, release_writer_value));
    else if (rc == WEFT_ECANCELLED)
      weft_future_cancel(op->outer, NULL);
    else
      weft_future_set_error(op->outer, rc, weft_future_error_message(inner), NULL, NULL);
  }
  if (dropped || weft_future_error(inner) != 0) {
    /* No connection_made happened: the protocol's reference is still ours to drop. */
    conn_release(c);
  }
  conn_release(c); /* the open's own */
  stream_op_unref(op);
}

static int open_common(weft_loop_t *loop, const weft_stream_options_t *o, const char *host,
                       int port, const char *path, size_t path_len, weft_future_t **out) {
  if (!loop || !out)
    return WEFT_EINVAL;
  size_t limit =
      o && o->size >= offsetof(weft_stream_options_t, limit) + sizeof(size_t) ? o->limit : 0;
  const weft_connect_options_t *copts =
      o && o->size >= offsetof(weft_stream_options_t, connect) + sizeof(void *) ? o->connect : NULL;
  stream_op_t *op = calloc(1, sizeof(*op));
  if (!op)
    return WEFT_ENOMEM;
  int rc = conn_new(loop, limit, &op->conn);
  if (rc == 0)
    rc = weft_future_new(loop, &op->outer);
  if (rc == 0) {
    if (path)
      rc = weft_create_unix_connection(loop, &stream_protocol, op->conn, path, path_len, copts,
                                       &op->inner);
    else
      rc = weft_create_connection(loop, &stream_protocol, op->conn, host, port, copts, &op->inner);
  }
  if (rc) {
    if (op->outer)
      weft_future_release(op->outer);
    if (op->conn)
      conn_release(op->conn);
    free(op);
    return rc;
  }
  op->conn->refs++; /* the open's own, beside the protocol's */
  weft_future_retain(op->outer);
  stream_op_watch(op, on_inner_done);
  *out = op->outer;
  return 0;
}

int weft_open_connection(weft_loop_t *loop, const char *host, int port,
                         const weft_stream_options_t *options, weft_future_t **out) {
  return open_common(loop, options, host, port, NULL, 0, out);
}

int weft_open_unix_connection(weft_loop_t *loop, const char *path, size_t path_len,
                              const weft_stream_options_t *options, weft_future_t **out) {
  if (!path)
    return WEFT_EINVAL;
  return open_common(loop, options, NULL, 0, path, path_len, out);
}

static int await_open(weft_future_t *f, weft_stream_reader_t **r_out,
                      weft_stream_writer_t **w_out) {
  int rc = weft_await(f);
  if (rc == 0) {
    const weft_value_t *v = NULL;
    weft_future_result(f, &v);
    weft_stream_writer_t *w = v ? v->ptr : NULL;
    if (!w) {
      rc = WEFT_EUNKNOWN;
    } else {
      *w_out = weft_stream_writer_retain(w);
      *r_out = weft_stream_reader_retain(w->conn->reader);
    }
  } else if (rc == WEFT_ECANCELLED) {
    weft_future_cancel(f, NULL);
  }
  weft_future_release(f);
  return rc;
}

int weft_open_connection_await(weft_loop_t *loop, const char *host, int port,
                               const weft_stream_options_t *options,
                               weft_stream_reader_t **reader_out,
                               weft_stream_writer_t **writer_out) {
  if (!reader_out || !writer_out)
    return WEFT_EINVAL;
  weft_future_t *f;
  int rc = weft_open_connection(loop, host, port, options, &f);
  return rc ? rc : await_open(f, reader_out, writer_out);
}

int weft_open_unix_connection_await(weft_loop_t *loop, const char *path, size_t path_len,
                                    const weft_stream_options_t *options,
                                    weft_stream_reader_t **reader_out,
                                    weft_stream_writer_t **writer_out) {
  if (!reader_out || !writer_out)
    return WEFT_EINVAL;
  weft_future_t *f;
  int rc = weft_open_unix_connection(loop, path, path_len, options, &f);
  return rc ? rc : await_open(f, reader_out, writer_out);
}

/* ---------------------------------------------------------------- start_tls */

/* StreamWriter.start_tls: the connection's transport is upgraded in place, the reader and
 * writer go on over the TLS transport (the protocol stays this module's). */
static void on_tls_upgraded(weft_future_t *inner, void *arg) {
  stream_op_t *up = arg;
  sconn_t *c = up->conn;
  /* Still pending, the upgrade is being dropped by the loop's close: nothing completes. */
  int done = weft_future_done(inner);
  int rc = done ? weft_future_error(inner) : WEFT_ECLOSED;
  if (rc == 0) {
    const weft_value_t *v = NULL;
    weft_future_result(inner, &v);
    weft_transport_t *t = weft_transport_retain(v->ptr);
    weft_transport_release(c->transport);
    c->transport = t;
    if (!c->lost)
      c->reader->transport = t;
    if (!weft_future_done(up->outer))
      weft_future_set_result(up->outer, weft_value_none());
  } else if (done && !weft_future_done(up->outer)) {
    if (rc == WEFT_ECANCELLED)
      weft_future_cancel(up->outer, NULL);
    else
      weft_future_set_error(up->outer, rc, weft_future_error_message(inner), NULL, NULL);
  }
  conn_release(c);
  stream_op_unref(up);
}

int weft_stream_start_tls(weft_stream_writer_t *w, const weft_tls_options_t *tls,
                          weft_future_t **out) {
  if (!w || !tls || !out)
    return WEFT_EINVAL;
  sconn_t *c = w->conn;
  if (c->lost || !c->transport)
    return WEFT_ECLOSED;
  stream_op_t *up = calloc(1, sizeof(*up));
  if (!up)
    return WEFT_ENOMEM;
  int rc = weft_future_new(c->loop, &up->outer);
  if (rc) {
    free(up);
    return rc;
  }
  /* asyncio: the side is the server's when the connection came from start_server. */
  rc = weft_start_tls(c->transport, &stream_protocol, c, tls, c->server_side, &up->inner);
  if (rc) {
    weft_future_release(up->outer);
    free(up);
    return rc;
  }
  /* Until the handshake is over the reader must not pause the old transport; the layer
   * reads from it for the handshake whatever the reader wanted. */
  c->reader->transport = NULL;
  c->reader->paused = 0;
  up->conn = c;
  c->refs++;
  weft_future_retain(up->outer);
  stream_op_watch(up, on_tls_upgraded);
  *out = up->outer;
  return 0;
}

int weft_stream_start_tls_await(weft_stream_writer_t *w, const weft_tls_options_t *tls) {
  weft_future_t *f;
  int rc = weft_stream_start_tls(w, tls, &f);
  if (rc)
    return rc;
  rc = weft_await(f);
  if (rc == WEFT_ECANCELLED && !weft_future_done(f))
    weft_future_cancel(f, NULL);
  weft_future_release(f);
  return rc;
}

/* ---------------------------------------------------------------- start_server */

static int stream_factory(void *farg, weft_protocol_t *p, void **arg) {
  sconf_t *conf = farg;
  sconn_t *c;
  int rc = conn_new(conf->loop, conf->limit, &c);
  if (rc)
    return rc;
  *p = stream_protocol;
  c->conf = conf;
  conf->refs++;
  c->server_side = 1;
  *arg = c;
  return 0;
}

static int sconf_new(weft_loop_t *loop, weft_stream_client_fn client, void *arg,
                     const weft_stream_options_t *o, sconf_t **out) {
  sconf_t *conf = calloc(1, sizeof(*conf));
  if (!conf)
    return WEFT_ENOMEM;
  conf->refs = 1; /* the server's */
  conf->loop = loop;
  conf->client = client;
  conf->arg = arg;
  if (o) {
    conf->limit = o->limit;
    conf->in_task = o->client_in_task;
  }
  *out = conf;
  return 0;
}

/* On success the server owns conf, and conf the caller's argument; on failure both stay
 * (conf is freed without touching the argument). */
int weft_start_server(weft_loop_t *loop, weft_stream_client_fn client, void *arg,
                      weft_free_fn arg_free, const char *host, int port,
                      const weft_stream_options_t *options, weft_future_t **out) {
  if (!loop || !client || !out)
    return WEFT_EINVAL;
  sconf_t *conf;
  int rc = sconf_new(loop, client, arg, options, &conf);
  if (rc)
    return rc;
  rc = weft_create_server(loop, stream_factory, conf, conf_release, host, port,
                          options ? options->server : NULL, out);
  if (rc) {
    free(conf);
    return rc;
  }
  conf->arg_free = arg_free;
  return 0;
}

int weft_start_unix_server(weft_loop_t *loop, weft_stream_client_fn client, void *arg,
                           weft_free_fn arg_free, const char *path, size_t path_len,
                           const weft_stream_options_t *options, weft_future_t **out) {
  if (!loop || !client || !out)
    return WEFT_EINVAL;
  sconf_t *conf;
  int rc = sconf_new(loop, client, arg, options, &conf);
  if (rc)
    return rc;
  rc = weft_create_unix_server(loop, stream_factory, conf, conf_release, path, path_len,
                               options ? options->server : NULL, out);
  if (rc) {
    free(conf);
    return rc;
  }
  conf->arg_free = arg_free;
  return 0;
}

void weft_stream_options_init(weft_stream_options_t *options) {
  if (options == NULL)
    return;
  memset(options, 0, sizeof(*options));
  options->size = sizeof(*options);
}
