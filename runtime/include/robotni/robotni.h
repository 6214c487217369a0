#ifndef ROBOTNI_ROBOTNI_H_
#define ROBOTNI_ROBOTNI_H_

/* robotni's C API: the same runtime as robotni/runtime.h, for C hosts and other languages'
 * FFIs.
 *
 * Conventions (as leveldb's c.h):
 * (1) Handles are opaque pointers. Each *_open / *_create has a matching *_close /
 *     *_destroy; the caller owns what it opened.
 * (2) Every call that can fail returns a robotni_code (ROBOTNI_OK = 0) and takes
 *     `char** errptr` last. On failure, when errptr is not NULL, *errptr is set to a
 *     malloc()ed message the caller frees with robotni_free (a previous *errptr is freed
 *     first, so one variable can be reused). On success *errptr is left alone.
 *     robotni_last_error() also returns the calling thread's last message.
 * (3) Strings passed in are copied; strings returned (char**) are malloc()ed and the caller
 *     frees them with robotni_free.
 * (4) No C++ exception ever crosses this API.
 * (5) Thread-safety: as robotni/runtime.h says for Runtime: calls on one runtime may come
 *     from any thread, except robotni_runtime_close (no other call may be running).
 *
 * JSON is used for payloads, results, items and options that are structures. */

#include <stddef.h>
#include <stdint.h>

#include "robotni/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  ROBOTNI_OK = 0,
  ROBOTNI_NOT_FOUND = 1,
  ROBOTNI_INVALID_ARGUMENT = 2,
  ROBOTNI_BUSY = 3,
  ROBOTNI_IO_ERROR = 4,
  ROBOTNI_PYTHON_ERROR = 5,
  ROBOTNI_CANCELLED = 6,
  ROBOTNI_TIMEOUT = 7,
  ROBOTNI_CONFLICT = 8,
  ROBOTNI_UNSUPPORTED = 9,
  ROBOTNI_INTERNAL = 10
} robotni_code;

typedef struct robotni_runtime_t robotni_runtime_t;
typedef struct robotni_job_t robotni_job_t;

/* "0.1.0". Static storage: do not free. */
ROBOTNI_EXPORT const char* robotni_version(void);
/* The calling thread's last error message ("" when none). Valid until the thread's next
 * failing call; do not free. */
ROBOTNI_EXPORT const char* robotni_last_error(void);
ROBOTNI_EXPORT void robotni_free(void* ptr);

/* options_json: an object with any of
 *   "store" (URL or path), "robot" (robot.yaml path), "isolation" ("subinterpreter"|"main"),
 *   "concurrency" (int), "job_modules" ([str]), "types" ([str]), "owner" (str),
 *   "log_level" ("debug"|"info"|"warn"|"error"; diagnostics go to stderr when given).
 * NULL or "" = all defaults. */
ROBOTNI_EXPORT robotni_code robotni_runtime_open(const char* options_json,
                                                 robotni_runtime_t** runtime, char** errptr);
/* Closes and frees the runtime. NULL is a no-op. */
ROBOTNI_EXPORT void robotni_runtime_close(robotni_runtime_t* runtime);

/* Runs a robot.yaml task by name and waits. *exit_code is rcc's (0 ok, 3 not found, 10 the
 * task failed ...). env_json: an object of extra environment variables, or NULL.
 * output (may be NULL): what the task printed, stdout then stderr, malloc()ed. */
ROBOTNI_EXPORT robotni_code robotni_run_task(robotni_runtime_t* runtime, const char* task,
                                             const char* env_json, int* exit_code,
                                             char** output, char** errptr);

/* Enqueues a job or work item. options_json (may be NULL): {"priority": int, "run_at_ms":
 * int, "max_attempts": int, "idempotency_key": str, "files": {"name": "text content"}}.
 * *id receives the new item's id (malloc()ed). */
ROBOTNI_EXPORT robotni_code robotni_enqueue(robotni_runtime_t* runtime, const char* queue,
                                            const char* payload_json, const char* options_json,
                                            char** id, char** errptr);

/* The item as a JSON object (id, queue, state, payload, result, error, attempt, timeline,
 * ...), malloc()ed into *item_json. ROBOTNI_NOT_FOUND for an unknown id. */
ROBOTNI_EXPORT robotni_code robotni_item_get(robotni_runtime_t* runtime, const char* id,
                                             char** item_json, char** errptr);

/* Waits up to timeout_seconds for the item to finish (DONE, FAILED or CANCELLED).
 * ROBOTNI_TIMEOUT when it did not; *item_json (may be NULL) receives the item either way. */
ROBOTNI_EXPORT robotni_code robotni_wait(robotni_runtime_t* runtime, const char* id,
                                         double timeout_seconds, char** item_json,
                                         char** errptr);

ROBOTNI_EXPORT robotni_code robotni_cancel(robotni_runtime_t* runtime, const char* id,
                                           char** errptr);

/* A job type served by a C function. The callback runs on a runner thread with the job's
 * payload (JSON); it returns ROBOTNI_OK and sets *result_json to a malloc()ed JSON text
 * (NULL = null), or a failure code and sets *error (malloc()ed, may stay NULL):
 * ROBOTNI_INVALID_ARGUMENT is a business failure (final), any other an application failure
 * (retried). robotni frees *result_json and *error with free(). `state` is passed through. */
typedef robotni_code (*robotni_job_fn)(void* state, robotni_job_t* job, const char* payload_json,
                                       char** result_json, char** error);
/* options_json (may be NULL): {"concurrency": int, "max_attempts": int, "schema": {...}}.
 * `destructor` (may be NULL) is called with `state` when the runtime closes. */
ROBOTNI_EXPORT robotni_code robotni_register_job_type(robotni_runtime_t* runtime,
                                                      const char* type, robotni_job_fn fn,
                                                      void* state, void (*destructor)(void*),
                                                      const char* options_json, char** errptr);
/* Inside a job callback only. The job's id (do not free), its attempt, whether it was
 * cancelled, and a progress message for its timeline. */
ROBOTNI_EXPORT const char* robotni_job_id(robotni_job_t* job);
ROBOTNI_EXPORT int robotni_job_attempt(robotni_job_t* job);
ROBOTNI_EXPORT int robotni_job_is_cancelled(robotni_job_t* job);
ROBOTNI_EXPORT robotni_code robotni_job_progress(robotni_job_t* job, const char* message);

/* Starts the HTTP job API and dashboard on a thread of its own. options_json (may be NULL):
 * {"listen": "127.0.0.1:0", "tokens": [str], "no_auth": bool, "grace": num, ...}.
 * *address (may be NULL) receives the bound "HOST:PORT", malloc()ed. */
ROBOTNI_EXPORT robotni_code robotni_serve_start(robotni_runtime_t* runtime,
                                                const char* options_json, char** address,
                                                char** errptr);
/* Drains and stops the service started by robotni_serve_start; blocks until stopped. */
ROBOTNI_EXPORT robotni_code robotni_serve_stop(robotni_runtime_t* runtime, char** errptr);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* ROBOTNI_ROBOTNI_H_ */
