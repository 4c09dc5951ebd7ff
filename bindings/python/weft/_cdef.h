/* The part of weft's C API the Python binding uses, as cffi's cdef reads it: plain
 * declarations, no macros or attributes. Kept by hand beside core/include/weft/*.h;
 * tests/test_cdef.py checks every name here against the real headers, and the cffi build
 * compiles these declarations against weft.h, so a mismatch fails the build. */

typedef struct weft_loop_s weft_loop_t;
typedef struct weft_handle_s weft_handle_t;
typedef struct weft_future_s weft_future_t;
typedef void (*weft_callback_fn)(void *arg);

unsigned weft_version(void);
const char *weft_version_string(void);
const char *weft_strerror(int code);
const char *weft_err_name(int code);

/* loop.h */
int weft_loop_new(weft_loop_t **out);
int weft_loop_close(weft_loop_t *loop);
void weft_loop_free(weft_loop_t *loop);
int weft_loop_run_forever(weft_loop_t *loop);
int weft_loop_run_once(weft_loop_t *loop, int nowait);
int weft_loop_stop(weft_loop_t *loop);
int weft_loop_is_running(const weft_loop_t *loop);
int weft_loop_is_closed(const weft_loop_t *loop);
double weft_loop_time(const weft_loop_t *loop);

typedef void (*weft_batch_fn)(weft_loop_t *loop, const uintptr_t *ids, size_t count, void *arg);
int weft_loop_set_batch_handler(weft_loop_t *loop, weft_batch_fn handler, void *arg);
int weft_call_soon_id(weft_loop_t *loop, uintptr_t id, weft_handle_t **handle_out);
int weft_call_at_id(weft_loop_t *loop, double when, uintptr_t id, weft_handle_t **handle_out);
int weft_call_soon_threadsafe_id(weft_loop_t *loop, uintptr_t id);
int weft_call_soon_ids(weft_loop_t *loop, const uintptr_t *ids, size_t count);

void weft_handle_cancel(weft_handle_t *handle);
int weft_handle_cancelled(const weft_handle_t *handle);
double weft_handle_when(const weft_handle_t *handle);
void weft_handle_release(weft_handle_t *handle);
void weft_handles_release(weft_handle_t *const *handles, size_t count, int cancel);

typedef void (*weft_log_fn)(weft_loop_t *loop, int level, const char *text, void *arg);
int weft_loop_set_log_handler(weft_loop_t *loop, weft_log_fn fn, void *arg);
int weft_loop_set_debug(weft_loop_t *loop, int enabled);
int weft_loop_get_debug(const weft_loop_t *loop);
int weft_loop_set_slow_callback_duration(weft_loop_t *loop, double seconds);

/* signal.h */
int weft_add_signal_handler(weft_loop_t *loop, int signum, weft_callback_fn cb, void *arg);
int weft_remove_signal_handler(weft_loop_t *loop, int signum);

/* Callbacks from the core into Python (defined with @ffi.def_extern in the binding). */
extern "Python" void _weft_batch(weft_loop_t *, const uintptr_t *, size_t, void *);
extern "Python" void _weft_log(weft_loop_t *, int, const char *, void *);
extern "Python" void _weft_signal(void *);
