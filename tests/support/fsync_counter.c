// fsync_counter: an LD_PRELOAD library for tests that counts the fsync(2) and fdatasync(2)
// calls a process makes on files whose path contains $ROBOTNI_FSYNC_MATCH (every file when
// unset) and, at exit, appends "<count>\n" to $ROBOTNI_FSYNC_COUNT_FILE. Child processes
// inherit it and append their own line; the test sums them. The calls themselves still run.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_long g_count;

static void CountIfMatching(int fd) {
  const char* match = getenv("ROBOTNI_FSYNC_MATCH");
  if (match && *match) {
    char link[64], path[4096];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    if (n <= 0) return;
    path[n] = '\0';
    if (!strstr(path, match)) return;
  }
  atomic_fetch_add(&g_count, 1);
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  CountIfMatching(fd);
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  CountIfMatching(fd);
  return real(fd);
}

__attribute__((destructor)) static void Report(void) {
  const char* out = getenv("ROBOTNI_FSYNC_COUNT_FILE");
  if (!out || !*out) return;
  int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  char line[32];
  int len = snprintf(line, sizeof(line), "%ld\n", atomic_load(&g_count));
  if (write(fd, line, (size_t)len) < 0) { /* nothing to do at exit */
  }
  close(fd);
}
