/* sendto of 0 bytes sends a zero-length datagram, and the peer's datagram_received gets
 * it (asyncio from Python 3.13 on). */
#include <casetrace.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static void received(weft_transport_t *t, const char *data, size_t len, const struct sockaddr *addr,
                     void *arg) {
  (void)t, (void)addr;
  weft_value_t item;
  if (weft_value_bytes(&item, data, len) == 0)
    weft_queue_put_nowait(arg, item);
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
  weft_queue_t *queue;
  weft_transport_t *server, *client;
  weft_future_t *f;
  weft_protocol_t receiver = {.size = sizeof receiver, .datagram_received = received};
  weft_protocol_t plain = {.size = sizeof plain};
  weft_datagram_options_t options;
  weft_datagram_options_init(&options);
  options.local_host = "127.0.0.1";
  int rc = weft_queue_new(loop, WEFT_QUEUE_FIFO, 0, &queue);
  if (rc < 0 || (rc = weft_create_datagram_endpoint(loop, &receiver, queue, &options, &f)) < 0 ||
      (rc = endpoint(f, &server)) < 0)
    return rc;
  struct sockaddr_storage addr;
  size_t len = sizeof addr;
  if ((rc = weft_transport_get_extra_info(server, WEFT_INFO_SOCKNAME, &addr, &len)) < 0)
    return rc;
  weft_datagram_options_init(&options);
  options.remote_host = "127.0.0.1";
  options.remote_port = ntohs(((struct sockaddr_in *)&addr)->sin_port);
  if ((rc = weft_create_datagram_endpoint(loop, &plain, NULL, &options, &f)) < 0 ||
      (rc = endpoint(f, &client)) < 0)
    return rc;
  weft_transport_sendto(client, "before", 6, NULL);
  weft_transport_sendto(client, "", 0, NULL);
  weft_transport_sendto(client, "after", 5, NULL);
  weft_timeout_t *t; /* a lost datagram ends the case instead of hanging it */
  if ((rc = weft_timeout_enter(self, 10, &t)) < 0)
    return rc;
  for (int i = 0; i < 3 && rc == 0; i++) {
    weft_value_t item;
    char q[64];
    if ((rc = weft_queue_get_await(queue, &item, NULL)) == 0)
      casetrace_emit("received %s", casetrace_q(q, sizeof q, item.ptr, item.len));
    weft_value_clear(&item);
  }
  rc = weft_timeout_exit(t, rc);
  weft_transport_close(client);
  weft_transport_close(server);
  weft_sleep_await(loop, 0);
  weft_transport_release(client);
  weft_transport_release(server);
  weft_queue_release(queue);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
