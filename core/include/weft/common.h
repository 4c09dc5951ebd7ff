/* weft: asyncio's model on libuv. Shared definitions: version, export macro, handles. */
#ifndef WEFT_COMMON_H
#define WEFT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define WEFT_VERSION_MAJOR 0
#define WEFT_VERSION_MINOR 2
#define WEFT_VERSION_PATCH 0
/* (major << 16) | (minor << 8) | patch, as weft_version() returns it. */
#define WEFT_VERSION_HEX                                                                           \
  ((WEFT_VERSION_MAJOR << 16) | (WEFT_VERSION_MINOR << 8) | WEFT_VERSION_PATCH)

#if defined(WEFT_BUILDING) && defined(__GNUC__)
#define WEFT_API __attribute__((visibility("default")))
#else
#define WEFT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque handles. Every one is created by a weft_*_new or weft_*_spawn function. */
typedef struct weft_loop_s weft_loop_t;     /* an event loop */
typedef struct weft_handle_s weft_handle_t; /* a scheduled callback (call_soon/later/at) */
typedef struct weft_future_s weft_future_t; /* a future; tasks are futures too */
typedef struct weft_task_s weft_task_t;     /* a task (stackful or step-driven) */

/* A plain callback with the user data given when it was scheduled. */
typedef void (*weft_callback_fn)(void *arg);
/* Frees a value the core was given ownership of. */
typedef void (*weft_free_fn)(void *ptr);

/* The library's version, as WEFT_VERSION_HEX, and as a "major.minor.patch" string. */
WEFT_API unsigned weft_version(void);
WEFT_API const char *weft_version_string(void);

#ifdef __cplusplus
}
#endif
#endif
