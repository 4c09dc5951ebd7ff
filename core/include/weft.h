/* weft: asyncio's concurrency model, in C, on libuv.
 *
 * The whole public API. Every name starts with weft_; handles are opaque and reference
 * counted; functions return 0 or a negative WEFT_E* code (weft/error.h). One loop per
 * thread: call a loop and its objects from that thread only, except functions documented
 * as thread-safe. */
#ifndef WEFT_H
#define WEFT_H

#include "weft/common.h"
#include "weft/error.h"
#include "weft/value.h"
#include "weft/loop.h"
#include "weft/future.h"
#include "weft/task.h"
#include "weft/combinators.h"
#include "weft/timeout.h"
#include "weft/taskgroup.h"
#include "weft/graph.h"
#include "weft/runner.h"
#include "weft/sync.h"
#include "weft/queue.h"
#include "weft/executor.h"
#include "weft/signal.h"
#include "weft/process.h"
#include "weft/tls.h"
#include "weft/protocol.h"
#include "weft/transport.h"
#include "weft/dns.h"
#include "weft/tcp.h"
#include "weft/server.h"
#include "weft/unix.h"
#include "weft/udp.h"
#include "weft/pipe.h"
#include "weft/sock.h"
#include "weft/tls_transport.h"
#include "weft/stream.h"

#endif
