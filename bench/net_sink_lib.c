// The receiver of the network benchmark (see net_sink_lib.h).
#include "bench/net_sink_lib.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double Now(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int RunNetSink(const char* addr, int port, const char* prefix) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) return 2;
  int one = 1;
  int l = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  int rcvbuf = 64 << 20;  // FORCE: beyond rmem_max (needs CAP_NET_ADMIN)
  if (setsockopt(u, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(u, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  setsockopt(u, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  struct sockaddr_in ua = a;
  ua.sin_port = htons(ntohs(a.sin_port) + 1);
  if (bind(l, (struct sockaddr*)&a, sizeof a) < 0 || listen(l, 1) < 0 ||
      bind(u, (struct sockaddr*)&ua, sizeof ua) < 0) {
    perror("net_sink: bind");
    return 1;
  }
  printf("%slistening\n", prefix);
  fflush(stdout);

  int c = accept(l, NULL, NULL);
  if (c < 0) return 1;
  static char buf[1 << 20];
  long total = 0;
  double first = 0, last = 0;
  for (;;) {
    ssize_t n = read(c, buf, sizeof buf);
    if (n <= 0) break;
    if (total == 0) first = Now();
    total += n;
  }
  last = Now();
  int m = snprintf(buf, 64, "got %ld\n", total);
  if (write(c, buf, m) != m) perror("net_sink: reply");
  close(c);
  printf("%stcp %ld %.6f\n", prefix, total, last - first);
  fflush(stdout);

  long received = 0, sent = -1;
  double t0 = 0, t1 = 0;
  struct pollfd p = {u, POLLIN, 0};
  while (sent < 0 && poll(&p, 1, 60000) > 0) {
    char control[256];
    struct iovec v = {buf, 2048};
    struct msghdr h;
    memset(&h, 0, sizeof h);
    h.msg_iov = &v;
    h.msg_iovlen = 1;
    h.msg_control = control;
    h.msg_controllen = sizeof control;
    ssize_t n = recvmsg(u, &h, 0);
    if (n <= 0) break;
    if (n > 4 && memcmp(buf, "END ", 4) == 0) {
      buf[n] = 0;
      sent = atol(buf + 4);
      break;
    }
    double t = Now();
    for (struct cmsghdr* cm = CMSG_FIRSTHDR(&h); cm; cm = CMSG_NXTHDR(&h, cm)) {
      if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(cm), sizeof ts);
        t = ts.tv_sec + ts.tv_nsec / 1e9;
      }
    }
    if (received == 0) t0 = t;
    t1 = t;
    received++;
  }
  printf("%sudp %ld %ld %.6f\n", prefix, received, sent, t1 - t0);
  fflush(stdout);
  return 0;
}
