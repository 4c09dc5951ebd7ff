/* Synchronization primitives, as asyncio's Lock, Event, Condition, Semaphore,
 * BoundedSemaphore and Barrier: one header each (weft/lock.h, weft/event.h,
 * weft/condition.h, weft/semaphore.h, weft/barrier.h), all included here. What they share:
 *
 * Each object belongs to one loop. Every waiting operation comes in two forms built on one
 * implementation, as everywhere in weft (weft.h):
 *   - weft_X_op(obj, &fut): for callbacks and bindings; *fut receives a new reference to a
 *     future (already done when nothing had to wait). Cancelling that future withdraws the
 *     request.
 *   - weft_X_op_await(obj): inside a stackful task; suspends with weft_await and returns 0,
 *     WEFT_ECANCELLED if the task was cancelled, or WEFT_ENOTINTASK outside a task.
 * Waiters are woken in FIFO order, and a waiter cancelled after it was woken passes its turn
 * on, so cancellation never leaves a lock held or loses a permit or a notification.
 *
 * Errors: NULL handles and bad arguments give WEFT_EINVAL (asyncio's ValueError for bad
 * arguments); using a primitive in a state that forbids it (releasing an unlocked lock,
 * releasing a bounded semaphore too often, waiting on a condition without its lock) gives
 * WEFT_EINVALIDSTATE (asyncio's RuntimeError / ValueError there).
 *
 * asyncio's release() of a Lock, Condition or Semaphore is weft_X_unlock: in weft, _release
 * always drops a reference.
 *
 * Lifetime: the objects are reference counted (weft_X_retain / weft_X_release; the creator
 * holds one reference). Operations still pending keep the object alive until they finish
 * (cancel them to end them). */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include "lock.h"
#include "event.h"
#include "condition.h"
#include "semaphore.h"
#include "barrier.h"

#endif
