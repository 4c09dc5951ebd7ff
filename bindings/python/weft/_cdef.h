/* The part of weft's C API the Python binding uses, as cffi's cdef reads it: plain
 * declarations, no macros or attributes. Kept by hand beside core/include/weft/*.h;
 * tests/test_cdef.py checks every name here against the real headers, and the cffi build
 * compiles these declarations against weft.h, so a mismatch fails the build. */

typedef struct weft_loop_s weft_loop_t;
typedef struct weft_handle_s weft_handle_t;
typedef struct weft_future_s weft_future_t;
typedef void (*weft_callback_fn)(void *arg);
typedef void (*weft_free_fn)(void *ptr);

unsigned weft_version(void);
const char *weft_version_string(void);
const char *weft_strerror(int code);
const char *weft_err_name(int code);
int weft_err_system(int code);

/* loop.h */
int weft_loop_new(weft_loop_t **out);
int weft_loop_close(weft_loop_t *loop);
void weft_loop_release(weft_loop_t *loop);
int weft_loop_run_forever(weft_loop_t *loop);
int weft_loop_run_once(weft_loop_t *loop, int nowait);
int weft_loop_stop(weft_loop_t *loop);
int weft_loop_is_running(const weft_loop_t *loop);
int weft_loop_is_closed(const weft_loop_t *loop);
double weft_loop_time(const weft_loop_t *loop);

typedef void (*weft_batch_fn)(weft_loop_t *loop, const uintptr_t *ids, size_t count, void *arg);
int weft_loop_set_batch_handler(weft_loop_t *loop, weft_batch_fn handler, void *arg,
                                weft_free_fn arg_free);
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
int weft_loop_set_log_handler(weft_loop_t *loop, weft_log_fn fn, void *arg, weft_free_fn arg_free);
int weft_loop_set_debug(weft_loop_t *loop, int enabled);
int weft_loop_get_debug(const weft_loop_t *loop);
int weft_loop_set_slow_callback_duration(weft_loop_t *loop, double seconds);

/* signal.h */
int weft_add_signal_handler(weft_loop_t *loop, int signum, weft_callback_fn cb, void *arg,
                            weft_free_fn arg_free);
int weft_remove_signal_handler(weft_loop_t *loop, int signum);

/* Callbacks from the core into Python (defined with @ffi.def_extern in the binding). */
extern "Python" void _weft_log(weft_loop_t *, int, const char *, void *);
extern "Python" void _weft_signal(void *);

/* process.h */
typedef struct weft_process_s weft_process_t;
typedef struct weft_transport_s weft_transport_t;
typedef struct weft_stdio_s {
  int mode;
  int fd;
} weft_stdio_t;
typedef struct weft_process_options_s {
  size_t size;
  weft_stdio_t stdio[3];
  const char *cwd;
  const char *const *env;
  int new_session;
  int set_process_group;
  int process_group;
  size_t limit;
  const int *pass_fds;
  size_t pass_fds_count;
  const char *executable;
  int (*start)(const char *path, char *const *argv, const int child_fd[3], void *start_arg);
  void *start_arg;
} weft_process_options_t;
typedef struct weft_subprocess_protocol_s {
  size_t size;
  void (*connection_made)(weft_process_t *transport, void *arg);
  void (*pipe_data_received)(weft_process_t *transport, int fd, const char *data, size_t len,
                             void *arg);
  void (*pipe_connection_lost)(weft_process_t *transport, int fd, int error, void *arg);
  void (*process_exited)(weft_process_t *transport, void *arg);
  void (*connection_lost)(weft_process_t *transport, int error, void *arg);
  void (*pause_writing)(weft_process_t *transport, void *arg);
  void (*resume_writing)(weft_process_t *transport, void *arg);
  weft_free_fn arg_free;
} weft_subprocess_protocol_t;

int weft_subprocess_exec(weft_loop_t *loop, const char *const *argv,
                         const weft_process_options_t *options,
                         const weft_subprocess_protocol_t *protocol, void *arg,
                         weft_process_t **out);
void weft_process_release(weft_process_t *process);
void weft_process_close(weft_process_t *process);
int weft_process_pid(const weft_process_t *process);
int weft_process_returncode(const weft_process_t *process, int *code);
int weft_process_send_signal(weft_process_t *process, int signum);
weft_transport_t *weft_process_get_pipe_transport(const weft_process_t *process, int fd);

/* transport.h (what pipe transports use) */
int weft_transport_write(weft_transport_t *transport, const void *data, size_t len);
int weft_transport_write_eof(weft_transport_t *transport);
int weft_transport_can_write_eof(const weft_transport_t *transport);
int weft_transport_close(weft_transport_t *transport);
int weft_transport_abort(weft_transport_t *transport);
int weft_transport_is_closing(const weft_transport_t *transport);
int weft_transport_pause_reading(weft_transport_t *transport);
int weft_transport_resume_reading(weft_transport_t *transport);
int weft_transport_is_reading(const weft_transport_t *transport);
int weft_transport_set_write_buffer_limits(weft_transport_t *transport, int64_t high, int64_t low);
int weft_transport_get_write_buffer_limits(const weft_transport_t *transport, size_t *low_out,
                                           size_t *high_out);
size_t weft_transport_get_write_buffer_size(const weft_transport_t *transport);

extern "Python" void _weft_proc_made(weft_process_t *, void *);
extern "Python" void _weft_proc_data(weft_process_t *, int, const char *, size_t, void *);
extern "Python" void _weft_proc_pipe_lost(weft_process_t *, int, int, void *);
extern "Python" void _weft_proc_exited(weft_process_t *, void *);
extern "Python" void _weft_proc_lost(weft_process_t *, int, void *);
extern "Python" void _weft_proc_pause(weft_process_t *, void *);
extern "Python" void _weft_proc_resume(weft_process_t *, void *);
extern "Python" int _weft_proc_start(const char *, char *const *, const int *, void *);

/* sock.h: readiness watchers */
int weft_add_reader(weft_loop_t *loop, int fd, weft_callback_fn cb, void *arg,
                    weft_free_fn arg_free);
int weft_remove_reader(weft_loop_t *loop, int fd);
int weft_add_writer(weft_loop_t *loop, int fd, weft_callback_fn cb, void *arg,
                    weft_free_fn arg_free);
int weft_remove_writer(weft_loop_t *loop, int fd);

/* protocol.h, transport.h, tcp.h, server.h: stream transports and servers */
typedef void (*weft_connection_made_fn)(weft_transport_t *transport, void *arg);
typedef void (*weft_data_received_fn)(weft_transport_t *transport, const char *data, size_t len,
                                      void *arg);
typedef void *(*weft_get_buffer_fn)(weft_transport_t *transport, size_t size_hint, size_t *len_out,
                                    void *arg);
typedef void *(*weft_read_into_fn)(weft_transport_t *transport, size_t size, void *arg);
typedef void (*weft_buffer_updated_fn)(weft_transport_t *transport, size_t nbytes, void *arg);
typedef int (*weft_eof_received_fn)(weft_transport_t *transport, void *arg);
typedef void (*weft_connection_lost_fn)(weft_transport_t *transport, int error, void *arg);
typedef void (*weft_pause_writing_fn)(weft_transport_t *transport, void *arg);
typedef void (*weft_resume_writing_fn)(weft_transport_t *transport, void *arg);
typedef void (*weft_datagram_received_fn)(weft_transport_t *transport, const char *data, size_t len,
                                          const struct sockaddr *addr, void *arg);
typedef void (*weft_error_received_fn)(weft_transport_t *transport, int error, void *arg);
typedef struct weft_protocol_s {
  size_t size;
  weft_connection_made_fn connection_made;
  weft_data_received_fn data_received;
  weft_get_buffer_fn get_buffer;
  weft_buffer_updated_fn buffer_updated;
  weft_eof_received_fn eof_received;
  weft_connection_lost_fn connection_lost;
  weft_pause_writing_fn pause_writing;
  weft_resume_writing_fn resume_writing;
  weft_datagram_received_fn datagram_received;
  weft_error_received_fn error_received;
  weft_free_fn arg_free;
  weft_read_into_fn read_into;
} weft_protocol_t;
typedef int (*weft_protocol_factory_fn)(void *factory_arg, weft_protocol_t *protocol_out,
                                        void **arg_out);
typedef struct weft_server_s weft_server_t;
typedef struct weft_tls_options_s weft_tls_options_t;
typedef struct weft_server_options_s {
  size_t size;
  int backlog;
  int start_serving;
  int cleanup_socket;
  const weft_tls_options_t *tls;
  ...;
} weft_server_options_t;
void weft_server_options_init(weft_server_options_t *options);
int weft_create_unix_server(weft_loop_t *loop, weft_protocol_factory_fn factory, void *factory_arg,
                            weft_free_fn factory_arg_free, const char *path, size_t path_len,
                            const weft_server_options_t *options, weft_future_t **out);
int weft_server_socket_fd(const weft_server_t *server, size_t index);

weft_transport_t *weft_transport_retain(weft_transport_t *transport);
void weft_transport_release(weft_transport_t *transport);
void weft_future_release(weft_future_t *future);
typedef struct weft_connect_options_s {
  size_t size;
  double happy_eyeballs_delay;
  int interleave;
  const weft_tls_options_t *tls;
  ...;
} weft_connect_options_t;
void weft_connect_options_init(weft_connect_options_t *options);
int weft_create_connection_fd(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg, int fd,
                              const weft_connect_options_t *options, weft_future_t **out);
int weft_create_unix_connection_fd(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                                   int fd, const weft_connect_options_t *options,
                                   weft_future_t **out);
int weft_connect_accepted_fd(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg, int fd,
                             const weft_connect_options_t *options, weft_future_t **out);
int weft_connect_socket(weft_loop_t *loop, const struct sockaddr *const *addrs, size_t count,
                        const struct sockaddr *const *locals, size_t local_count,
                        const weft_connect_options_t *options, weft_future_t **out);
int weft_connect_socket_take(weft_future_t *future);
#define WEFT_CONNECT_STEP_CONNECT ...
#define WEFT_CONNECT_STEP_BIND ...
#define WEFT_CONNECT_STEP_NO_LOCAL ...
#define WEFT_CONNECT_STEP_SOCKET ...
size_t weft_connect_failure_count(const weft_future_t *future);
int weft_connect_failure(const weft_future_t *future, size_t index, int *step,
                         struct sockaddr *addr, size_t *len);
int weft_create_server_fds(weft_loop_t *loop, weft_protocol_factory_fn factory, void *factory_arg,
                           weft_free_fn factory_arg_free, const int *fds, size_t count,
                           const weft_server_options_t *options, weft_future_t **out);
weft_server_t *weft_server_retain(weft_server_t *server);
void weft_server_release(weft_server_t *server);
int weft_server_start_serving(weft_server_t *server);
int weft_server_is_serving(const weft_server_t *server);
int weft_server_close(weft_server_t *server);
int weft_server_close_clients(weft_server_t *server);
int weft_server_abort_clients(weft_server_t *server);
size_t weft_server_connection_count(const weft_server_t *server);

extern "Python" int _weft_server_factory(void *, weft_protocol_t *, void **);

/* future.h, value.h: completion of the core's futures, reported to Python */
typedef struct weft_value_s {
  int32_t type;
  int64_t i;
  double d;
  void *ptr;
  size_t len;
  weft_free_fn free_fn;
} weft_value_t;
#define WEFT_VALUE_INT ...
#define WEFT_VALUE_TRANSPORT ...
#define WEFT_VALUE_ADDRINFO ...
void *weft_value_object(const weft_value_t *value, int32_t type);
typedef void (*weft_future_cb)(weft_future_t *future, void *arg);
weft_future_t *weft_future_retain(weft_future_t *future);
int weft_future_add_done_callback(weft_future_t *future, weft_future_cb cb, void *arg);
int weft_future_cancel(weft_future_t *future, const char *message);
int weft_future_result(weft_future_t *future, const weft_value_t **out);
const char *weft_future_error_message(const weft_future_t *future);
extern "Python" void _weft_future_done(weft_future_t *, void *);

/* server.h: wait_closed */
typedef struct weft_listen_address_s {
  int family;
  int socktype;
  int protocol;
  const struct sockaddr *addr;
  size_t addr_len;
} weft_listen_address_t;
typedef struct weft_listen_options_s {
  size_t size;
  int reuse_address;
  int reuse_port;
  int skip_unavailable;
  int keep_alive;
} weft_listen_options_t;
typedef struct weft_listen_failure_s {
  size_t index;
  int option;
} weft_listen_failure_t;
void weft_listen_options_init(weft_listen_options_t *options);
int weft_listen_sockets(const weft_listen_address_t *addrs, size_t count,
                        const weft_listen_options_t *options, int *fds,
                        weft_listen_failure_t *failure);
int weft_server_wait_closed(weft_server_t *server, weft_future_t **out);

/* transport.h: extra info; udp.h: datagram endpoints; pipe.h: pipe transports */
struct sockaddr;
int weft_transport_get_extra_info(const weft_transport_t *transport, int key, void *buf,
                                  size_t *len);
int weft_transport_sendto(weft_transport_t *transport, const void *data, size_t len,
                          const struct sockaddr *addr);
/* sockaddr.h: socket addresses from their parts */
int weft_sockaddr_ip(int family, const char *host, int port, unsigned flowinfo, unsigned scope_id,
                     struct sockaddr *out, size_t cap);
int weft_sockaddr_unix(const char *path, size_t path_len, struct sockaddr *out, size_t cap);
typedef struct weft_datagram_candidate_s {
  int family;
  int protocol;
  const struct sockaddr *local;
  size_t local_len;
  const struct sockaddr *remote;
  size_t remote_len;
} weft_datagram_candidate_t;
size_t weft_datagram_pair(weft_datagram_candidate_t *rows, size_t count);
int weft_datagram_socket(const weft_datagram_candidate_t *candidates, size_t count, int reuse_port,
                         int allow_broadcast, int *fd_out);
int weft_create_datagram_endpoint_fd(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                                     int fd, weft_future_t **out);
int weft_connect_read_pipe(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg, int fd,
                           weft_future_t **out);
int weft_connect_write_pipe(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg, int fd,
                            weft_future_t **out);

/* sock.h: sendfile */
int weft_sock_sendfile(weft_loop_t *loop, int fd, int file_fd, int64_t offset, int64_t count,
                       int fallback, weft_future_t **out);
int weft_sendfile(weft_transport_t *transport, int file_fd, int64_t offset, int64_t count,
                  int fallback, weft_future_t **out);
int64_t weft_sendfile_sent(const weft_future_t *future);

/* dns.h: getaddrinfo off the loop (libuv's thread pool) */
typedef struct weft_addrinfo_s weft_addrinfo_t;
int weft_getaddrinfo(weft_loop_t *loop, const char *host, const char *service, int family,
                     int socktype, int protocol, int flags, weft_future_t **out);
size_t weft_addrinfo_count(const weft_addrinfo_t *list);
int weft_addrinfo_family(const weft_addrinfo_t *list, size_t index);
int weft_addrinfo_socktype(const weft_addrinfo_t *list, size_t index);
int weft_addrinfo_protocol(const weft_addrinfo_t *list, size_t index);
const struct sockaddr *weft_addrinfo_addr(const weft_addrinfo_t *list, size_t index,
                                          size_t *addrlen_out);
const char *weft_addrinfo_canonname(const weft_addrinfo_t *list, size_t index);

/* future.h: the TLS connects' outcome (weft/tls.py) */
int weft_future_error(weft_future_t *future);

/* transport.h: switching a transport's protocol table (buffered or plain) */
int weft_transport_set_protocol(weft_transport_t *transport, const weft_protocol_t *protocol,
                                void *arg);

/* loop.h: the core's reports (a TLS server's failed handshakes) reach Python's handler */
typedef struct weft_task_s weft_task_t;
typedef struct weft_error_context_s {
  size_t size;
  const char *message;
  int error;
  const char *error_message;
  void *error_payload;
  weft_future_t *future;
  weft_task_t *task;
  weft_handle_t *handle;
} weft_error_context_t;
typedef void (*weft_exception_handler_fn)(weft_loop_t *loop, const weft_error_context_t *context,
                                          void *arg);
int weft_loop_set_exception_handler(weft_loop_t *loop, weft_exception_handler_fn handler, void *arg,
                                    weft_free_fn arg_free);
void weft_loop_default_exception_handler(weft_loop_t *loop, const weft_error_context_t *context);

/* tls.h, tls_transport.h: TLS over transports, with the SSL objects Python makes */
typedef struct weft_tls_context_s weft_tls_context_t;
typedef struct weft_tls_conn_s weft_tls_conn_t;
typedef struct weft_tls_ssl_s {
  size_t size;
  void *ssl;
  void *owner;
  weft_free_fn release;
} weft_tls_ssl_t;
typedef int (*weft_tls_ssl_fn)(void *arg, int32_t server_side, weft_tls_ssl_t *out);
struct weft_tls_options_s {
  size_t size;
  weft_tls_context_t *context;
  const char *server_hostname;
  double handshake_timeout;
  double shutdown_timeout;
  weft_tls_ssl_fn ssl_fn;
  void *ssl_arg;
  weft_free_fn ssl_arg_free;
};
unsigned long weft_tls_openssl_version(void);
const char *weft_tls_conn_error(const weft_tls_conn_t *conn);
void *weft_tls_conn_owner(const weft_tls_conn_t *conn);
int weft_start_tls(weft_transport_t *transport, const weft_protocol_t *protocol, void *arg,
                   const weft_tls_options_t *tls, int32_t server_side, weft_future_t **out);

extern "Python" int _weft_tls_ssl(void *, int32_t, weft_tls_ssl_t *);
extern "Python" void _weft_tls_release(void *);
extern "Python" void _weft_tls_done(weft_future_t *, void *);
extern "Python" void _weft_core_report(weft_loop_t *, const weft_error_context_t *, void *);
