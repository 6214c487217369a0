/* A C host of robotni: runs a robot task, then serves 1,000 jobs split between a job type
 * written in C and one written in Python, waits for all and checks their results.
 *
 *   cc host.c $(pkg-config --cflags --libs robotni) -o host
 *   ./host path/to/examples/robot /tmp/store.db */
#include <robotni/robotni.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kJobs = 1000 };

/* c.double: {"n": N} -> 2N. */
static robotni_code DoubleJob(void* state, robotni_job_t* job, const char* payload,
                              char** result, char** error) {
  (void)job;
  int* calls = state;
  __atomic_add_fetch(calls, 1, __ATOMIC_RELAXED);
  const char* n = strstr(payload, "\"n\":");
  if (!n) {
    *error = strdup("payload has no n");
    return ROBOTNI_INVALID_ARGUMENT;
  }
  char buf[32];
  snprintf(buf, sizeof buf, "%ld", 2 * strtol(n + 4, NULL, 10));
  *result = strdup(buf);
  return ROBOTNI_OK;
}

static int Check(robotni_code code, char* err, const char* what) {
  if (code == ROBOTNI_OK) return 1;
  fprintf(stderr, "%s failed (%d): %s\n", what, (int)code, err ? err : "");
  robotni_free(err);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s ROBOT_DIR STORE\n", argv[0]);
    return 2;
  }
  char options[4096];
  snprintf(options, sizeof options,
           "{\"robot\": \"%s/robot.yaml\", \"store\": \"%s\", \"concurrency\": 2, "
           "\"job_modules\": [\"jobs.py\"], \"log_level\": \"warn\"}",
           argv[1], argv[2]);
  printf("robotni %s\n", robotni_version());
  char* err = NULL;
  robotni_runtime_t* rt = NULL;
  if (!Check(robotni_runtime_open(options, &rt, &err), err, "open")) return 1;

  int exit_code = -1;
  char* output = NULL;
  if (!Check(robotni_run_task(rt, "Greet", NULL, &exit_code, &output, &err), err, "run_task"))
    return 1;
  printf("task Greet: exit code %d, output: %s", exit_code, output);
  int ok = exit_code == 0 && strstr(output, "hello from a robot task") != NULL;
  robotni_free(output);

  int calls = 0;
  if (!Check(robotni_register_job_type(rt, "c.double", DoubleJob, &calls, NULL, NULL, &err), err,
             "register_job_type"))
    return 1;
  char* ids[kJobs];
  for (int i = 0; i < kJobs; ++i) {
    char payload[64];
    snprintf(payload, sizeof payload, "{\"n\": %d}", i);
    if (!Check(robotni_enqueue(rt, i % 2 ? "py.square" : "c.double", payload, NULL, &ids[i], &err),
               err, "enqueue"))
      return 1;
  }
  int good = 0;
  for (int i = 0; i < kJobs; ++i) {
    char* item = NULL;
    if (!Check(robotni_wait(rt, ids[i], 60, &item, &err), err, "wait")) return 1;
    char want[64];
    snprintf(want, sizeof want, "\"result\":%ld", i % 2 ? (long)i * i : 2L * i);
    if (strstr(item, "\"state\":\"DONE\"") && strstr(item, want)) {
      ++good;
    } else if (good + 1 == i) {
      fprintf(stderr, "job %s: %s\n", ids[i], item);
    }
    robotni_free(item);
    robotni_free(ids[i]);
  }
  printf("%d of %d jobs done with the right result (%d ran in C)\n", good, kJobs, calls);

  char* missing = NULL;
  robotni_code nf = robotni_item_get(rt, "999999999", &missing, &err);
  printf("unknown id: code %d (%s)\n", (int)nf, robotni_last_error());
  robotni_free(err);
  robotni_runtime_close(rt);
  return ok && good == kJobs && calls == kJobs / 2 && nf == ROBOTNI_NOT_FOUND ? 0 : 1;
}
