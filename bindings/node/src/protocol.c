/* Protocols and transports: asyncio's Protocol / DatagramProtocol callbacks on a JS
 * object, and the Transport they talk to, for the servers and clients that want no
 * stream buffering. The callbacks run from the loop's own stack (the embedding rule),
 * each in a callback scope, as Node's own socket events do; the protocol object's
 * methods are looked up once, when the connection begins. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "weft_node.h"

static const napi_type_tag transport_tag = {0x77656674u, 0x5452414e53503031u};

enum { CB_MADE, CB_DATA, CB_EOF, CB_LOST, CB_PAUSE, CB_RESUME, CB_DATAGRAM, CB_ERROR, CB_COUNT };
static const char *const cb_names[CB_COUNT] = {"connectionMade",   "dataReceived", "eofReceived",
                                               "connectionLost",   "pauseWriting", "resumeWriting",
                                               "datagramReceived", "errorReceived"};

/* One connection's protocol: the JS object, its methods and the Transport object. */
typedef struct {
  wn_state_t *st;
  napi_ref obj;
  napi_ref cb[CB_COUNT];
  napi_ref transport; /* the Transport object, from connection_made to connection_lost */
  napi_ref incoming;  /* the Buffer the core is reading into (read_into), if any */
  char *incoming_base;
} wn_proto_t;

/* A Transport object's core part. */
typedef struct {
  wn_state_t *st;
  weft_transport_t *t;
} wn_tobj_t;

static void proto_drop_refs(wn_proto_t *p) {
  napi_env env = p->st->env;
  for (int i = 0; i < CB_COUNT; i++)
    if (p->cb[i] != NULL) {
      napi_delete_reference(env, p->cb[i]);
      p->cb[i] = NULL;
    }
  if (p->transport != NULL) {
    napi_delete_reference(env, p->transport);
    p->transport = NULL;
  }
  if (p->incoming != NULL) {
    napi_delete_reference(env, p->incoming);
    p->incoming = NULL;
  }
  if (p->obj != NULL) {
    napi_delete_reference(env, p->obj);
    p->obj = NULL;
  }
}

static void proto_free(void *arg) {
  wn_proto_t *p = arg;
  proto_drop_refs(p);
  free(p);
}

/* A protocol for JS object `obj`; NULL with an exception pending. */
static wn_proto_t *proto_new(napi_env env, wn_state_t *st, napi_value obj) {
  napi_valuetype t;
  if (napi_typeof(env, obj, &t) != napi_ok || t != napi_object) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "a protocol must be an object");
    return NULL;
  }
  wn_proto_t *p = calloc(1, sizeof *p);
  if (p == NULL) {
    wn_throw(env, WEFT_ENOMEM, NULL);
    return NULL;
  }
  p->st = st;
  napi_create_reference(env, obj, 1, &p->obj);
  for (int i = 0; i < CB_COUNT; i++) {
    napi_value fn;
    if (napi_get_named_property(env, obj, cb_names[i], &fn) != napi_ok) {
      proto_free(p);
      return NULL;
    }
    if (napi_typeof(env, fn, &t) == napi_ok && t == napi_function)
      napi_create_reference(env, fn, 1, &p->cb[i]);
  }
  return p;
}

/* Calls method `which` of the protocol with argc arguments; the result in *result if
 * wanted. Runs inside the caller's scope. */
static void proto_call(wn_proto_t *p, int which, size_t argc, napi_value *argv,
                       napi_value *result) {
  napi_env env = p->st->env;
  napi_value fn, obj, ignored;
  if (p->cb[which] == NULL || napi_get_reference_value(env, p->cb[which], &fn) != napi_ok ||
      napi_get_reference_value(env, p->obj, &obj) != napi_ok)
    return;
  napi_call_function(env, obj, fn, argc, argv, result != NULL ? result : &ignored);
}

/* ---- Transport objects ------------------------------------------------------------------ */

static void tobj_release(void *arg) {
  wn_tobj_t *o = arg;
  weft_transport_release(o->t);
  free(o);
}

static napi_value transport_ctor(napi_env env, napi_callback_info info) {
  return wn_net_ctor(env, info, &transport_tag, tobj_release,
                     "transports come from createServer, createConnection or "
                     "createDatagramEndpoint");
}

static wn_tobj_t *this_transport(napi_env env, napi_callback_info info, size_t n,
                                 napi_value *argv) {
  return wn_net_this(env, info, n, argv, &transport_tag, "Transport");
}

static napi_value result_of(napi_env env, int rc) {
  return rc < 0 ? wn_throw(env, rc, NULL) : NULL;
}

/* Each Transport's own `write`, a function whose data is its transport (retained until the
 * function is collected): the prototype's write must find the receiver's transport with
 * napi_unwrap, a private-symbol lookup that was 40% of what a 1 KiB write cost. As a bound
 * method in asyncio, it writes to its own transport when called apart from the object. */
static napi_value t_write_own(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *t = NULL;
  const void *data;
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &t) != napi_ok ||
      wn_get_bytes(env, argv[0], "data must be a Buffer", &data, &len) != 0)
    return NULL;
  return result_of(env, weft_transport_write(t, data, len));
}

static void transport_drop(void *t) {
  weft_transport_release(t);
}

static napi_value transport_new(napi_env env, wn_state_t *st, weft_transport_t *t) {
  static const wn_own_method_t own[] = {{"write", t_write_own}};
  wn_tobj_t *o = malloc(sizeof *o);
  if (o == NULL)
    return wn_throw(env, WEFT_ENOMEM, NULL);
  o->st = st;
  o->t = weft_transport_retain(t);
  napi_value out = wn_net_new(env, st->net->transport_class, o, tobj_release);
  if (out != NULL)
    wn_own_methods(env, out, weft_transport_retain(t), transport_drop, own, WN_COUNT(own));
  return out;
}

static napi_value t_write(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  wn_tobj_t *o = this_transport(env, info, 1, argv);
  const void *data;
  size_t len;
  if (o == NULL || wn_get_bytes(env, argv[0], "data must be a Buffer", &data, &len) != 0)
    return NULL;
  return result_of(env, weft_transport_write(o->t, data, len));
}

static napi_value t_write_eof(napi_env env, napi_callback_info info) {
  wn_tobj_t *o = this_transport(env, info, 0, NULL);
  return o == NULL ? NULL : result_of(env, weft_transport_write_eof(o->t));
}

static napi_value t_close(napi_env env, napi_callback_info info) {
  wn_tobj_t *o = this_transport(env, info, 0, NULL);
  return o == NULL ? NULL : result_of(env, weft_transport_close(o->t));
}

static napi_value t_abort(napi_env env, napi_callback_info info) {
  wn_tobj_t *o = this_transport(env, info, 0, NULL);
  return o == NULL ? NULL : result_of(env, weft_transport_abort(o->t));
}

static napi_value t_pause_reading(napi_env env, napi_callback_info info) {
  wn_tobj_t *o = this_transport(env, info, 0, NULL);
  return o == NULL ? NULL : result_of(env, weft_transport_pause_reading(o->t));
}

static napi_value t_resume_reading(napi_env env, napi_callback_info info) {
  wn_tobj_t *o = this_transport(env, info, 0, NULL);
  return o == NULL ? NULL : result_of(env, weft_transport_resume_reading(o->t));
}

static napi_value t_bool(napi_env env, napi_callback_info info,
                         int (*query)(const weft_transport_t *)) {
  wn_tobj_t *o = this_transport(env, info, 0, NULL);
  napi_value out = NULL;
  if (o != NULL)
    napi_get_boolean(env, query(o->t), &out);
  return out;
}

static napi_value t_is_closing(napi_env env, napi_callback_info info) {
  return t_bool(env, info, weft_transport_is_closing);
}

static napi_value t_is_reading(napi_env env, napi_callback_info info) {
  return t_bool(env, info, weft_transport_is_reading);
}

static napi_value t_can_write_eof(napi_env env, napi_callback_info info) {
  return t_bool(env, info, weft_transport_can_write_eof);
}

static napi_value t_set_limits(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  wn_tobj_t *o = this_transport(env, info, 2, argv);
  int64_t high = -1, low = -1;
  if (o == NULL ||
      (!wn_is_undefined(env, argv[0]) && wn_get_int64(env, argv[0], "high", &high) != 0) ||
      (!wn_is_undefined(env, argv[1]) && wn_get_int64(env, argv[1], "low", &low) != 0))
    return NULL;
  if (high >= 0 && low > high) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "low must not exceed high");
    return NULL;
  }
  return result_of(env, weft_transport_set_write_buffer_limits(o->t, high, low));
}

static napi_value t_limits(napi_env env, napi_callback_info info) {
  wn_tobj_t *o = this_transport(env, info, 0, NULL);
  if (o == NULL)
    return NULL;
  size_t low = 0, high = 0;
  weft_transport_get_write_buffer_limits(o->t, &low, &high);
  napi_value out, v;
  napi_create_object(env, &out);
  napi_create_double(env, (double)low, &v);
  napi_set_named_property(env, out, "low", v);
  napi_create_double(env, (double)high, &v);
  napi_set_named_property(env, out, "high", v);
  return out;
}

static napi_value t_buffer_size(napi_env env, napi_callback_info info) {
  wn_tobj_t *o = this_transport(env, info, 0, NULL);
  napi_value out = NULL;
  if (o != NULL)
    napi_create_double(env, (double)weft_transport_get_write_buffer_size(o->t), &out);
  return out;
}

static int key_of(napi_env env, napi_value key) {
  char name[32] = "";
  size_t n = 0;
  if (napi_get_value_string_utf8(env, key, name, sizeof name, &n) != napi_ok)
    return -1;
  static const struct {
    const char *name;
    int key;
  } keys[] = {{"peername", WEFT_INFO_PEERNAME},
              {"sockname", WEFT_INFO_SOCKNAME},
              {"fd", WEFT_INFO_FD},
              {"alpnProtocol", WEFT_INFO_TLS_ALPN},
              {"tlsVersion", WEFT_INFO_TLS_VERSION},
              {"cipher", WEFT_INFO_TLS_CIPHER},
              {"servername", WEFT_INFO_TLS_SERVER_NAME}};
  for (size_t i = 0; i < WN_COUNT(keys); i++)
    if (strcmp(name, keys[i].name) == 0)
      return keys[i].key;
  return -1;
}

napi_value wn_transport_info(napi_env env, weft_transport_t *transport, napi_value key) {
  int k = key_of(env, key);
  if (k < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE",
                          "the key must be one of peername, sockname, fd, alpnProtocol, "
                          "tlsVersion, cipher, servername");
    return NULL;
  }
  union {
    struct sockaddr_storage ss;
    char text[256];
    int fd;
  } buf;
  size_t len = sizeof buf;
  napi_value out;
  /* The socket's own keys are answered by the transport under a TLS layer. */
  int rc = weft_transport_get_extra_info(transport, k, &buf, &len);
  if (rc != 0) {
    napi_get_undefined(env, &out);
    return out;
  }
  if (k == WEFT_INFO_PEERNAME || k == WEFT_INFO_SOCKNAME)
    return wn_address_js(env, (struct sockaddr *)&buf.ss);
  if (k == WEFT_INFO_FD)
    napi_create_int32(env, buf.fd, &out);
  else
    napi_create_string_utf8(env, buf.text, len > 0 ? strnlen(buf.text, len) : 0, &out);
  return out;
}

static napi_value t_extra_info(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  wn_tobj_t *o = this_transport(env, info, 1, argv);
  return o == NULL ? NULL : wn_transport_info(env, o->t, argv[0]);
}

static napi_value t_set_ref(napi_env env, napi_callback_info info, int ref) {
  wn_tobj_t *o = this_transport(env, info, 0, NULL);
  if (o == NULL)
    return NULL;
  wn_transport_set_ref(o->st, o->t, ref);
  napi_value self;
  napi_get_cb_info(env, info, NULL, NULL, &self, NULL);
  return self;
}

static napi_value t_ref(napi_env env, napi_callback_info info) {
  return t_set_ref(env, info, 1);
}

static napi_value t_unref(napi_env env, napi_callback_info info) {
  return t_set_ref(env, info, 0);
}

/* ---- The core's protocol callbacks ------------------------------------------------------ */

static void on_made(weft_transport_t *t, void *arg) {
  wn_proto_t *p = arg;
  wn_scope_t scope;
  if (wn_scope_open(p->st, &scope) != 0)
    return;
  napi_value tobj = transport_new(p->st->env, p->st, t);
  if (tobj != NULL) {
    napi_create_reference(p->st->env, tobj, 1, &p->transport);
    proto_call(p, CB_MADE, 1, &tobj, NULL);
  }
  wn_scope_close(p->st, &scope);
}

/* Reads up to READ_POOL_MAX bytes are copied into a shared ArrayBuffer of READ_POOL_SIZE,
 * each a Buffer over its own part, as Buffer.allocUnsafe pools small Buffers: one
 * ArrayBuffer per many reads instead of one allocation, backing store and prototype change
 * per read (the Buffers that Node-API makes). A retained small Buffer keeps at most one
 * pool alive. Each new pool costs kernel time that instruction counts do not show, so
 * reads above 4 KiB, which would fill one in a few reads, get a Buffer of their own, as
 * the streams style's do (docs/benchmarks.md, "The read pool's limit"). */
#define READ_POOL_SIZE (64 * 1024)
#define READ_POOL_MAX (4 * 1024)

/* The pool with room for len bytes, at *base; NULL when len does not go in a pool. */
static napi_value read_pool(wn_state_t *st, size_t len, char **base) {
  napi_env env = st->env;
  wn_net_t *net = st->net;
  napi_value pool = NULL;
  bool detached = true;
  if (len > READ_POOL_MAX)
    return NULL;
  /* A pool that JS detached (transferred) is never written again. */
  if (net->read_pool != NULL && READ_POOL_SIZE - net->read_pool_used >= len &&
      napi_get_reference_value(env, net->read_pool, &pool) == napi_ok && pool != NULL &&
      napi_is_detached_arraybuffer(env, pool, &detached) == napi_ok && !detached) {
    *base = net->read_pool_base + net->read_pool_used;
    return pool;
  }
  if (net->read_pool != NULL) {
    napi_delete_reference(env, net->read_pool);
    net->read_pool = NULL;
  }
  /* Made as a Buffer and used through its ArrayBuffer: a Buffer's memory is not zeroed
   * first (napi_create_arraybuffer's is, 64 KiB at a time). */
  void *data = NULL;
  napi_value buf;
  size_t offset = 0;
  if (napi_create_buffer(env, READ_POOL_SIZE, &data, &buf) != napi_ok ||
      napi_get_typedarray_info(env, buf, NULL, NULL, NULL, &pool, &offset) != napi_ok ||
      offset != 0 || napi_create_reference(env, pool, 1, &net->read_pool) != napi_ok) {
    net->read_pool = NULL;
    return NULL;
  }
  net->read_pool_base = data;
  net->read_pool_used = 0;
  *base = data;
  return pool;
}

napi_value wn_read_pool_put(wn_state_t *st, const void *data, size_t len, size_t *offset) {
  char *base = NULL;
  napi_value pool = read_pool(st, len, &base);
  if (pool == NULL)
    return NULL;
  *offset = st->net->read_pool_used;
  memcpy(base, data, len);
  /* The next part starts 8-aligned, as Buffer.allocUnsafe's pool does; the room left
   * (READ_POOL_SIZE - used) must never wrap around. */
  size_t used = *offset + ((len + 7) & ~(size_t)7);
  st->net->read_pool_used = used < READ_POOL_SIZE ? used : READ_POOL_SIZE;
  return pool;
}

/* read_into: a read the core knows to be large (READ_POOL_MAX is far below the core's
 * threshold) lands in a Buffer of its own instead of being copied out of the core's shared
 * buffer; smaller ones (a TLS layer's) are left to the pool. */
static void *on_read_into(weft_transport_t *t, size_t size, void *arg) {
  (void)t;
  wn_proto_t *p = arg;
  wn_state_t *st = p->st;
  napi_env env = st->env;
  napi_handle_scope hs;
  void *data = NULL;
  napi_value buf;
  if (st->closing || p->cb[CB_DATA] == NULL || size <= READ_POOL_MAX ||
      napi_open_handle_scope(env, &hs) != napi_ok)
    return NULL;
  if (p->incoming != NULL) { /* left from a read that found nothing */
    napi_delete_reference(env, p->incoming);
    p->incoming = NULL;
  }
  if (napi_create_buffer(env, size, &data, &buf) != napi_ok ||
      napi_create_reference(env, buf, 1, &p->incoming) != napi_ok) {
    p->incoming = NULL;
    data = NULL;
  }
  p->incoming_base = data;
  napi_close_handle_scope(env, hs);
  return data;
}

/* The Buffer read_into gave, cut to len bytes, if data is in it; else NULL. */
static napi_value take_incoming(wn_proto_t *p, const char *data, size_t len) {
  napi_env env = p->st->env;
  napi_value whole = NULL, view = NULL, fn, args[2];
  if (p->incoming == NULL)
    return NULL;
  if (data == p->incoming_base && napi_get_reference_value(env, p->incoming, &whole) == napi_ok &&
      whole != NULL) {
    size_t size = 0;
    napi_get_buffer_info(env, whole, NULL, &size);
    napi_create_uint32(env, 0, &args[0]);
    napi_create_uint32(env, (uint32_t)len, &args[1]);
    if (size == len)
      view = whole;
    else if (napi_get_named_property(env, whole, "subarray", &fn) != napi_ok ||
             napi_call_function(env, whole, fn, 2, args, &view) != napi_ok)
      view = NULL;
  }
  napi_delete_reference(env, p->incoming);
  p->incoming = NULL;
  return view;
}

static void on_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  (void)t;
  wn_proto_t *p = arg;
  wn_state_t *st = p->st;
  napi_env env = st->env;
  wn_scope_t scope = {NULL, NULL};
  napi_value argv[4], fn, obj, dispatch, ignored;
  /* No JS after the clean-up began; no dataReceived, nothing to do. */
  if (st->closing || p->cb[CB_DATA] == NULL)
    return;
  /* napi_make_callback below is the callback scope: it runs the microtasks and the
   * process.nextTick queue after the call, as Node does after each socket read. */
  napi_open_handle_scope(env, &scope.hs);
  if (napi_get_reference_value(env, p->cb[CB_DATA], &fn) != napi_ok ||
      napi_get_reference_value(env, p->obj, &obj) != napi_ok)
    goto done;
  argv[0] = take_incoming(p, data, len);
  if (argv[0] != NULL) {
    napi_make_callback(env, st->async_context, obj, fn, 1, argv, &ignored);
    goto done;
  }
  size_t offset = 0;
  napi_value pool = NULL;
  if (napi_get_reference_value(env, st->net->data_dispatch, &dispatch) == napi_ok &&
      dispatch != NULL)
    pool = wn_read_pool_put(st, data, len, &offset);
  if (pool != NULL) {
    argv[0] = fn;
    argv[1] = pool;
    napi_create_uint32(env, (uint32_t)offset, &argv[2]);
    napi_create_uint32(env, (uint32_t)len, &argv[3]);
    napi_make_callback(env, st->async_context, obj, dispatch, 4, argv, &ignored);
  } else if (napi_create_buffer_copy(env, len, data, NULL, &argv[0]) == napi_ok) {
    napi_make_callback(env, st->async_context, obj, fn, 1, argv, &ignored);
  }
done:
  wn_scope_close(st, &scope);
}

static int on_eof(weft_transport_t *t, void *arg) {
  (void)t;
  wn_proto_t *p = arg;
  wn_scope_t scope;
  bool keep = false;
  if (wn_scope_open(p->st, &scope) != 0)
    return 0;
  napi_value result = NULL;
  proto_call(p, CB_EOF, 0, NULL, &result);
  if (result != NULL && napi_coerce_to_bool(p->st->env, result, &result) == napi_ok)
    napi_get_value_bool(p->st->env, result, &keep);
  wn_scope_close(p->st, &scope);
  return keep;
}

static void on_lost(weft_transport_t *t, int error, void *arg) {
  (void)t;
  wn_proto_t *p = arg;
  wn_scope_t scope;
  if (wn_scope_open(p->st, &scope) == 0) {
    napi_value err;
    if (error != 0)
      err = wn_error(p->st->env, p->st, error, NULL);
    else
      napi_get_undefined(p->st->env, &err);
    proto_call(p, CB_LOST, 1, &err, NULL);
    wn_scope_close(p->st, &scope);
  }
  /* Nothing calls the protocol any more: let its object (and the transport's) go. */
  proto_drop_refs(p);
}

static void on_flow(wn_proto_t *p, int which) {
  wn_scope_t scope;
  if (wn_scope_open(p->st, &scope) != 0)
    return;
  proto_call(p, which, 0, NULL, NULL);
  wn_scope_close(p->st, &scope);
}

static void on_pause(weft_transport_t *t, void *arg) {
  (void)t;
  on_flow(arg, CB_PAUSE);
}

static void on_resume(weft_transport_t *t, void *arg) {
  (void)t;
  on_flow(arg, CB_RESUME);
}

static void on_datagram(weft_transport_t *t, const char *data, size_t len,
                        const struct sockaddr *addr, void *arg) {
  (void)t;
  wn_proto_t *p = arg;
  wn_scope_t scope;
  if (wn_scope_open(p->st, &scope) != 0)
    return;
  napi_value argv[2];
  if (napi_create_buffer_copy(p->st->env, len, data, NULL, &argv[0]) == napi_ok) {
    argv[1] = wn_address_js(p->st->env, addr);
    proto_call(p, CB_DATAGRAM, 2, argv, NULL);
  }
  wn_scope_close(p->st, &scope);
}

static void on_error(weft_transport_t *t, int error, void *arg) {
  (void)t;
  wn_proto_t *p = arg;
  wn_scope_t scope;
  if (wn_scope_open(p->st, &scope) != 0)
    return;
  napi_value err = wn_error(p->st->env, p->st, error, NULL);
  proto_call(p, CB_ERROR, 1, &err, NULL);
  wn_scope_close(p->st, &scope);
}

static void fill_table(weft_protocol_t *table) {
  memset(table, 0, sizeof *table);
  table->size = sizeof *table;
  table->connection_made = on_made;
  table->data_received = on_data;
  table->read_into = on_read_into;
  table->eof_received = on_eof;
  table->connection_lost = on_lost;
  table->pause_writing = on_pause;
  table->resume_writing = on_resume;
  table->datagram_received = on_datagram;
  table->error_received = on_error;
  table->arg_free = proto_free;
}

/* setDataDispatch(fn): lib/protocol.js's function (fn, pool, offset, length) that calls
 * fn on the protocol with a Buffer over that part of the pool. */
static napi_value set_data_dispatch(napi_env env, napi_callback_info info) {
  wn_state_t *st = wn_state(env);
  return st == NULL ? NULL
                    : wn_net_keep_function(env, info, &st->net->data_dispatch, "the dispatcher");
}

/* ---- Servers and clients ---------------------------------------------------------------- */

typedef struct {
  wn_state_t *st;
  napi_ref factory;
} factory_arg_t;

static void factory_arg_free(void *arg) {
  factory_arg_t *a = arg;
  napi_delete_reference(a->st->env, a->factory);
  free(a);
}

/* Called for each accepted connection: the JS factory makes the protocol object. */
static int on_factory(void *arg, weft_protocol_t *table, void **arg_out) {
  factory_arg_t *a = arg;
  wn_state_t *st = a->st;
  wn_scope_t scope;
  if (wn_scope_open(st, &scope) != 0)
    return WEFT_ECLOSED;
  napi_env env = st->env;
  napi_value fn, global, obj = NULL;
  wn_proto_t *p = NULL;
  napi_get_global(env, &global);
  if (napi_get_reference_value(env, a->factory, &fn) == napi_ok &&
      napi_call_function(env, global, fn, 0, NULL, &obj) == napi_ok)
    p = proto_new(env, st, obj);
  wn_scope_close(st, &scope);
  if (p == NULL)
    return WEFT_ECONNABORTED;
  fill_table(table);
  *arg_out = p;
  return 0;
}

static napi_status server_result(napi_env env, weft_future_t *future, void *arg, napi_value *out) {
  const weft_value_t *v = NULL;
  weft_future_result(future, &v);
  weft_server_t *s = weft_value_object(v, WEFT_VALUE_SERVER);
  if (s == NULL)
    return napi_generic_failure;
  *out = wn_server_new(env, arg, s);
  return *out != NULL ? napi_ok : napi_pending_exception;
}

static napi_status transport_result(napi_env env, weft_future_t *future, void *arg,
                                    napi_value *out) {
  const weft_value_t *v = NULL;
  weft_future_result(future, &v);
  weft_transport_t *t = weft_value_object(v, WEFT_VALUE_TRANSPORT);
  if (t == NULL)
    return napi_generic_failure;
  /* The object connectionMade got, when the connection is still there: one object per
   * transport, as asyncio's. Every transport made here has one of our protocols. */
  wn_proto_t *p = weft_transport_get_protocol_arg(t);
  if (p != NULL && p->transport != NULL &&
      napi_get_reference_value(env, p->transport, out) == napi_ok && *out != NULL)
    return napi_ok;
  *out = transport_new(env, arg, t);
  return *out != NULL ? napi_ok : napi_pending_exception;
}

/* createServer(factory, host, port, tls, backlog, reusePort) and
 * createUnixServer(factory, path, tls, backlog): a Promise of the Server. */
static napi_value create_server(napi_env env, napi_callback_info info, int unix_socket) {
  napi_value argv[6];
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 6, argv, NULL) != 0)
    return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "the protocol factory must be a function");
    return NULL;
  }
  napi_value *rest = unix_socket ? &argv[2] : &argv[3];
  char *where = NULL;
  size_t where_len = 0;
  int64_t port = 0, backlog = 100;
  bool reuse_port = false;
  if (!(!unix_socket && wn_is_undefined(env, argv[1])) &&
      wn_get_string(env, argv[1], unix_socket ? "path must be a string" : "host must be a string",
                    &where, &where_len) != 0)
    return NULL;
  weft_server_options_t so;
  weft_server_options_init(&so);
  weft_tls_options_t tls;
  weft_tls_context_t *ctx = NULL;
  char *hostname = NULL;
  int trc = 1;
  if ((!unix_socket && wn_get_int64(env, argv[2], "port must be an integer", &port) != 0) ||
      (!wn_is_undefined(env, rest[1]) &&
       wn_get_int64(env, rest[1], "backlog must be an integer", &backlog) != 0) ||
      (!unix_socket && !wn_is_undefined(env, rest[2]) &&
       napi_get_value_bool(env, rest[2], &reuse_port) != napi_ok) ||
      (trc = wn_tls_options(env, rest[0], WEFT_TLS_SERVER, &tls, &ctx, &hostname)) < 0) {
    free(where);
    return NULL;
  }
  so.backlog = (int)(backlog > 0 && backlog < 65536 ? backlog : 100);
  so.reuse_port = reuse_port;
  if (trc == 0)
    so.tls = &tls;
  factory_arg_t *a = malloc(sizeof *a);
  int rc = WEFT_ENOMEM;
  weft_future_t *f = NULL;
  if (a != NULL) {
    a->st = st;
    napi_create_reference(env, argv[0], 1, &a->factory);
    if (unix_socket)
      rc = weft_create_unix_server(st->loop, on_factory, a, factory_arg_free, where, where_len, &so,
                                   &f);
    else
      rc = (port < 0 || port > 65535)
               ? WEFT_EINVAL
               : weft_create_server(st->loop, on_factory, a, factory_arg_free, where, (int)port,
                                    &so, &f);
    if (rc != 0)
      factory_arg_free(a);
  }
  if (ctx != NULL)
    weft_tls_context_release(ctx);
  free(hostname);
  free(where);
  if (rc != 0)
    return wn_throw(env, rc, rc == WEFT_EINVAL ? "invalid address or options" : NULL);
  return wn_promise(env, st, f, NULL, server_result, st, NULL);
}

static napi_value create_tcp_server(napi_env env, napi_callback_info info) {
  return create_server(env, info, 0);
}

static napi_value create_unix_server(napi_env env, napi_callback_info info) {
  return create_server(env, info, 1);
}

/* createConnection(protocol, host, port, tls, options) / createUnixConnection(protocol,
 * path, tls, options): a Promise of the Transport, after connectionMade. */
static napi_value create_connection(napi_env env, napi_callback_info info, int unix_socket) {
  napi_value argv[5], signal;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 5, argv, NULL) != 0)
    return NULL;
  napi_value *rest = unix_socket ? &argv[2] : &argv[3];
  char *where = NULL;
  size_t where_len = 0;
  int64_t port = 0;
  if (wn_get_signal(env, rest[1], &signal) != 0 ||
      wn_get_string(env, argv[1], unix_socket ? "path must be a string" : "host must be a string",
                    &where, &where_len) != 0)
    return NULL;
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  weft_tls_options_t tls;
  weft_tls_context_t *ctx = NULL;
  char *hostname = NULL;
  int trc = 1;
  wn_proto_t *p = NULL;
  if ((!unix_socket && wn_get_int64(env, argv[2], "port must be an integer", &port) != 0) ||
      (trc = wn_tls_options(env, rest[0], WEFT_TLS_CLIENT, &tls, &ctx, &hostname)) < 0 ||
      (p = proto_new(env, st, argv[0])) == NULL) {
    if (ctx != NULL)
      weft_tls_context_release(ctx);
    free(hostname);
    free(where);
    return NULL;
  }
  if (trc == 0)
    co.tls = &tls;
  weft_protocol_t table;
  fill_table(&table);
  weft_future_t *f = NULL;
  int rc;
  if (unix_socket)
    rc = weft_create_unix_connection(st->loop, &table, p, where, where_len, &co, &f);
  else
    rc = (port < 0 || port > 65535)
             ? WEFT_EINVAL
             : weft_create_connection(st->loop, &table, p, where, (int)port, &co, &f);
  if (rc != 0)
    proto_free(p);
  if (ctx != NULL)
    weft_tls_context_release(ctx);
  free(hostname);
  free(where);
  if (rc != 0)
    return wn_throw(env, rc, rc == WEFT_EINVAL ? "invalid address or options" : NULL);
  return wn_promise(env, st, f, signal, transport_result, st, NULL);
}

static napi_value create_tcp_connection(napi_env env, napi_callback_info info) {
  return create_connection(env, info, 0);
}

static napi_value create_unix_connection(napi_env env, napi_callback_info info) {
  return create_connection(env, info, 1);
}

void *wn_protocol_new(napi_env env, wn_state_t *st, napi_value obj, weft_protocol_t *table) {
  wn_proto_t *p = proto_new(env, st, obj);
  if (p != NULL)
    fill_table(table);
  return p;
}
void wn_protocol_free(void *p) {
  proto_free(p);
}
napi_status wn_transport_result(napi_env env, weft_future_t *future, void *arg, napi_value *out) {
  return transport_result(env, future, arg, out);
}
weft_transport_t *wn_transport_of(napi_env env, napi_value self) {
  wn_tobj_t *o = wn_unwrap(env, self, &transport_tag, "Transport");
  return o != NULL ? o->t : NULL;
}

napi_status wn_protocol_init(napi_env env, napi_value exports) {
  wn_state_t *st = wn_state(env);
  if (st == NULL)
    return napi_pending_exception;
  napi_property_descriptor props[] = {
      WN_VOID_METHOD("write", t_write),
      WN_VOID_METHOD("writeEof", t_write_eof),
      WN_METHOD("canWriteEof", t_can_write_eof),
      WN_VOID_METHOD("close", t_close),
      WN_VOID_METHOD("abort", t_abort),
      WN_VOID_METHOD("pauseReading", t_pause_reading),
      WN_VOID_METHOD("resumeReading", t_resume_reading),
      WN_METHOD("isReading", t_is_reading),
      WN_METHOD("isClosing", t_is_closing),
      WN_VOID_METHOD("setWriteBufferLimits", t_set_limits),
      WN_METHOD("getWriteBufferLimits", t_limits),
      WN_METHOD("getWriteBufferSize", t_buffer_size),
      WN_METHOD("extraInfo", t_extra_info),
      WN_METHOD("sendto", wn_transport_sendto),
      WN_METHOD("ref", t_ref),
      WN_METHOD("unref", t_unref),
  };
  napi_status s = wn_define(env, exports, "Transport", transport_ctor, props, WN_COUNT(props),
                            &st->net->transport_class);
  /* Through WN_METHOD, as every method: a terminating Worker gets a Promise that never
   * settles rather than undefined. */
  napi_property_descriptor fns[] = {
      WN_METHOD("createServer", create_tcp_server),
      WN_METHOD("createUnixServer", create_unix_server),
      WN_METHOD("createConnection", create_tcp_connection),
      WN_METHOD("createUnixConnection", create_unix_connection),
      WN_METHOD("setDataDispatch", set_data_dispatch),
  };
  if (s == napi_ok)
    s = napi_define_properties(env, exports, WN_COUNT(fns), fns);
  return s;
}
