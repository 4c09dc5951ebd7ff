/* Datagrams over loopback UDP arrive whole, one datagram_received each, in order. */
#include <casetrace.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static void echo(weft_transport_t *t, const char *data, size_t len, const struct sockaddr *addr,
                 void *arg) {
  (void)arg;
  char upper[64];
  if (len > sizeof upper)
    len = sizeof upper;
  for (size_t i = 0; i < len; i++)
    upper[i] = (char)toupper((unsigned char)data[i]);
  weft_transport_sendto(t, upper, len, addr);
}

typedef struct {
  int n;
  weft_future_t *done;
} client_t;

static void client_received(weft_transport_t *t, const char *data, size_t len,
                            const struct sockaddr *addr, void *arg) {
  (void)t, (void)addr;
  client_t *c = arg;
  char q[256];
  casetrace_emit("client received %s", casetrace_q(q, sizeof q, data, len));
  if (++c->n == 4)
    weft_future_set_result(c->done, weft_value_none());
}

static void client_error(weft_transport_t *t, int error, void *arg) {
  (void)t, (void)arg;
  casetrace_emit("client error %s", casetrace_err(error));
}

/* Awaits an endpoint future and hands out a reference to its transport. */
static int endpoint(weft_future_t *f, weft_transport_t **out) {
  const weft_value_t *v;
  int rc = weft_await(f);
  if (rc == 0 && (rc = weft_future_result(f, &v)) == 0)
    *out = weft_transport_retain(weft_value_object(v, WEFT_VALUE_TRANSPORT));
  weft_future_release(f);
  return rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  client_t c = {0, NULL};
  weft_transport_t *server, *client;
  weft_future_t *f;
  weft_protocol_t echo_protocol = {.size = sizeof echo_protocol, .datagram_received = echo};
  weft_protocol_t client_protocol = {.size = sizeof client_protocol,
                                     .datagram_received = client_received,
                                     .error_received = client_error};
  weft_datagram_options_t options;
  weft_datagram_options_init(&options);
  options.local_host = "127.0.0.1";
  int rc = weft_future_new(loop, &c.done);
  if (rc < 0 ||
      (rc = weft_create_datagram_endpoint(loop, &echo_protocol, NULL, &options, &f)) < 0 ||
      (rc = endpoint(f, &server)) < 0)
    return rc;
  struct sockaddr_storage addr;
  size_t len = sizeof addr;
  if ((rc = weft_transport_get_extra_info(server, WEFT_INFO_SOCKNAME, &addr, &len)) < 0)
    return rc;
  weft_datagram_options_init(&options);
  options.remote_host = "127.0.0.1";
  options.remote_port = ntohs(((struct sockaddr_in *)&addr)->sin_port);
  if ((rc = weft_create_datagram_endpoint(loop, &client_protocol, &c, &options, &f)) < 0 ||
      (rc = endpoint(f, &client)) < 0)
    return rc;
  static const char *payloads[] = {"one", "two", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "3"};
  for (int i = 0; i < 4; i++) {
    weft_transport_sendto(client, payloads[i], strlen(payloads[i]), NULL);
    weft_sleep_await(loop, 0.01);
  }
  weft_timeout_t *t; /* a lost datagram ends the case instead of hanging it */
  if ((rc = weft_timeout_enter(self, 10, &t)) < 0)
    return rc;
  rc = weft_timeout_exit(t, weft_await(c.done));
  weft_transport_close(client);
  weft_transport_close(server);
  weft_sleep_await(loop, 0); /* connection_lost runs while `c` is still there */
  weft_transport_release(client);
  weft_transport_release(server);
  weft_future_release(c.done);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
