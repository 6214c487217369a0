/* The floor: what a server doing no work reaches on this machine under the same wrk load.
 *
 * bench/http/run.sh measures `robotni serve` against a FastAPI + uvicorn reference with wrk
 * on 127.0.0.1, and wrk shares the VM's 2 cores with the server. This server answers every
 * request with a canned response and does nothing else (no store, no routing, no JSON, no
 * thread hand-off), so its requests/s is the most ANY server can show here under the same
 * load generator; floor/reference is the largest ratio over the reference this machine can
 * demonstrate. One thread, one epoll loop, like the single-loop design it is compared with.
 *
 * HTTP/1.1 keep-alive, just enough for wrk and curl: reads up to "\r\n\r\n", skips a
 * Content-Length body, answers
 *   request with If-None-Match   -> 304 with an ETag
 *   POST                         -> 202 {"job_id":"1","status":"queued"}
 *   anything else                -> 200 with a done `add` job's JSON (the shape and size,
 *                                   315 bytes, of GET /api/worker/jobs/{id} in robotni)
 * Pipelined requests are answered in order. Chunked bodies are not supported (closed).
 * Build: cc -O2 -o floor_server floor_server.c    Run: ./floor_server PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_CAP 16384  /* a request head must fit; bodies are skipped, not buffered */
#define OUT_CAP 16384 /* pending output; parsing waits while less than MAX_RESP is free */
#define MAX_RESP 1024

#define ETAG "\"13b-643a6a89303f2760\""
static const char kJob[] =
    "{\"attempts\":1,\"cancel_requested\":false,\"error\":null,\"job_id\":\"1\","
    "\"max_attempts\":3,\"params\":{\"x\":2,\"y\":40},\"priority\":0,\"result\":42,"
    "\"status\":\"done\",\"timeline\":{\"timeFinished\":\"2026-11-23T01:45:34.075Z\","
    "\"timeQueued\":\"2026-11-23T01:45:34.072Z\",\"timeScheduled\":\"\","
    "\"timeStarted\":\"2026-11-23T01:45:34.072Z\"},\"type\":\"add\"}";
static const char kQueued[] = "{\"job_id\":\"1\",\"status\":\"queued\"}";

struct conn {
  int fd, want_out; /* want_out: waiting for EPOLLOUT (instead of EPOLLIN) */
  size_t in_len, out_len, out_off;
  unsigned long long body_left; /* request body bytes still to skip */
  char in[IN_CAP], out[OUT_CAP];
};

static char date_hdr[64]; /* "Date: ...\r\n", refreshed once a second like real servers */
static time_t date_sec;

static void refresh_date(void) {
  time_t now = time(NULL);
  if (now == date_sec) return;
  date_sec = now;
  strftime(date_hdr, sizeof date_hdr, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", gmtime(&now));
}

static void drop(int ep, struct conn *c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c);
}

/* Case-insensitive search for header NAME (with its ':') at the start of a line in
 * [head, end); returns the value's first byte or NULL. */
static const char *header(const char *head, const char *end, const char *name) {
  size_t n = strlen(name);
  for (const char *p = memchr(head, '\n', end - head); p && p + 1 + n <= end;
       p = memchr(p + 1, '\n', end - p - 1)) {
    if (strncasecmp(p + 1, name, n) == 0) {
      const char *v = p + 1 + n;
      while (v < end && (*v == ' ' || *v == '\t')) v++;
      return v;
    }
  }
  return NULL;
}

/* Answers every complete request in c->in while the output has room. -1: close. */
static int parse(struct conn *c) {
  size_t off = 0;
  for (;;) {
    if (c->body_left) { /* skip (part of) a body */
      size_t n = c->in_len - off < c->body_left ? c->in_len - off : c->body_left;
      off += n;
      c->body_left -= n;
      if (c->body_left) break;
    }
    if (OUT_CAP - c->out_len < MAX_RESP) break;
    char *head = c->in + off;
    char *end = memmem(head, c->in_len - off, "\r\n\r\n", 4);
    if (!end) {
      if (off == 0 && c->in_len == IN_CAP) return -1; /* head too large */
      break;
    }
    end += 4;
    if (header(head, end, "Transfer-Encoding:")) return -1;
    const char *cl = header(head, end, "Content-Length:");
    c->body_left = cl ? strtoull(cl, NULL, 10) : 0;
    char *o = c->out + c->out_len;
    int n;
    if (header(head, end, "If-None-Match:"))
      n = sprintf(o, "HTTP/1.1 304 Not Modified\r\n%sServer: floor\r\nETag: " ETAG "\r\n\r\n",
                  date_hdr);
    else if (strncmp(head, "POST ", 5) == 0)
      n = sprintf(o, "HTTP/1.1 202 Accepted\r\n%sServer: floor\r\nContent-Type: "
                  "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                  date_hdr, sizeof kQueued - 1, kQueued);
    else
      n = sprintf(o, "HTTP/1.1 200 OK\r\n%sServer: floor\r\nContent-Type: application/json\r\n"
                  "ETag: " ETAG "\r\nContent-Length: %zu\r\n\r\n%s",
                  date_hdr, sizeof kJob - 1, kJob);
    c->out_len += n;
    off = end - c->in;
  }
  memmove(c->in, c->in + off, c->in_len - off); /* keep the unanswered rest */
  c->in_len -= off;
  return 0;
}

/* Writes pending output. While some remains the connection waits for EPOLLOUT only (no
 * EPOLLIN: a client that does not read its answers is not read either). -1: close. */
static int flush(int ep, struct conn *c) {
  while (c->out_off < c->out_len) {
    ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) return -1;
    c->out_off += n;
  }
  if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
  int want = c->out_len != 0;
  if (want != c->want_out) {
    struct epoll_event ev = {.events = want ? EPOLLOUT : EPOLLIN, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) return -1;
    c->want_out = want;
  }
  return 0;
}

/* Answers and writes what the input holds, again while a full write made room for requests
 * that were waiting for it. */
static int serve(int ep, struct conn *c) {
  for (;;) {
    size_t before = c->in_len;
    if (parse(c) < 0 || flush(ep, c) < 0) return -1;
    if (c->out_len || c->in_len == before || c->in_len == 0) return 0;
  }
}

/* One read per readiness (level-triggered: the loop comes back if more is waiting), i.e. the
 * fewest syscalls per request: epoll_wait, read, write. */
static int on_readable(int ep, struct conn *c) {
  ssize_t n = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
  if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
  if (n == 0) return -1; /* peer closed */
  c->in_len += n;
  return serve(ep, c);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 1024) < 0) {
    perror("floor_server: bind/listen");
    return 1;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}; /* NULL: the listener */
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  fprintf(stderr, "floor_server: serving on http://127.0.0.1:%s\n", argv[1]);
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    if (n < 0 && errno != EINTR) return 1;
    refresh_date();
    for (int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      if (!c) { /* accept everything pending */
        int fd;
        while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c = calloc(1, sizeof *c)};
          if (c) c->fd = fd;
          if (!c || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev) < 0) { close(fd); free(c); }
        }
        continue;
      }
      int r = 0;
      if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN)) r = -1;
      else if (evs[i].events & EPOLLOUT) r = serve(ep, c); /* writable: finish, go on */
      else if (evs[i].events & EPOLLIN) r = on_readable(ep, c);
      if (r < 0) drop(ep, c);
    }
  }
}
