// init for the guest network benchmark, the same binary in kuml's guest and
// in UML: configures eth0 (ioctls: UML's kernel has no ip= autoconfig),
// sends net_bytes over one TCP connection to net_sink:net_port and waits for
// the sink's "got <n>" (so everything arrived), then net_udp datagrams of
// net_udp_size payload bytes to net_sink:net_port+1 as fast as the guest
// can, then "END <sent>" markers; prints what it measured on the boot
// console and powers off. Parameters come as kernel command line a=b words
// (the kernel hands them to init's environment). The receiving side
// (bench/net_sink.c) times the same transfers on the host. With
// net_role=sink the guest is the receiver instead (guest-to-guest runs): it
// runs the same receiver (net_sink_lib.h) on net_addr:net_port, its lines
// prefixed "netsink: ", and powers off when the sender's END arrives.
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/net_sink_lib.h"

static double Now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static const char* Env(const char* name, const char* fallback) {
  const char* v = getenv(name);
  return v && *v ? v : fallback;
}

static int SetAddr(int s, const char* dev, unsigned long req, const char* a) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
  struct sockaddr_in* sin = (struct sockaddr_in*)&ifr.ifr_addr;
  sin->sin_family = AF_INET;
  inet_pton(AF_INET, a, &sin->sin_addr);
  return ioctl(s, req, &ifr);
}

static int Up(int s, const char* dev) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) return -1;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static void Configure(const char* dev) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  Up(s, "lo");
  const char* addr = getenv("net_addr");
  if (addr) {  // else the kernel's ip= did it
    if (SetAddr(s, dev, SIOCSIFADDR, addr) < 0 ||
        SetAddr(s, dev, SIOCSIFNETMASK, Env("net_mask", "255.255.255.0")) <
            0 ||
        Up(s, dev) < 0) {
      printf("netflood: cannot configure %s: %s\n", dev, strerror(errno));
    }
  }
  close(s);
}

static void Tcp(const struct sockaddr_in* sink, long total) {
  int fd = -1;
  double deadline = Now() + 60;
  while (Now() < deadline) {  // the link and the sink may need a moment
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (const struct sockaddr*)sink, sizeof *sink) == 0) break;
    close(fd);
    fd = -1;
    usleep(200000);
  }
  if (fd < 0) {
    printf("netflood: tcp: cannot connect: %s\n", strerror(errno));
    return;
  }
  static char block[65536];
  memset(block, 'n', sizeof block);
  double start = Now();
  long left = total;
  while (left > 0) {
    ssize_t n = write(fd, block, left < (long)sizeof block ? left : sizeof block);
    if (n <= 0) break;
    left -= n;
  }
  shutdown(fd, SHUT_WR);
  char reply[64] = "";
  ssize_t r = read(fd, reply, sizeof reply - 1);
  double s = Now() - start;
  reply[r > 0 ? r : 0] = 0;
  reply[strcspn(reply, "\n")] = 0;
  printf("netflood: tcp %ld bytes in %.3f s: %.0f bytes/s (sink: %s)\n",
         total - left, s, (total - left) / s, reply);
  close(fd);
}

static void Udp(struct sockaddr_in sink, long count, int size) {
  sink.sin_port = htons(ntohs(sink.sin_port) + 1);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (connect(fd, (const struct sockaddr*)&sink, sizeof sink) < 0) {
    printf("netflood: udp: connect: %s\n", strerror(errno));
    return;
  }
  char buf[2048];
  memset(buf, 'u', sizeof buf);
  if (size < 8) size = 8;
  if (size > (int)sizeof buf) size = sizeof buf;
  long sent = 0, refused = 0;
  double start = Now();
  for (long i = 0; i < count; i++) {
    memcpy(buf, &i, sizeof i);
    if (send(fd, buf, size, 0) == size) {
      sent++;
    } else {
      refused++;  // ENOBUFS: the device queue is full; that packet is lost
    }
  }
  double s = Now() - start;
  printf("netflood: udp %ld of %ld datagrams (%d B) sent in %.3f s: %.0f/s\n",
         sent, count, size, s, sent / s);
  for (int i = 0; i < 10; i++) {
    usleep(100000);
    int n = snprintf(buf, sizeof buf, "END %ld", sent);
    send(fd, buf, n, 0);
  }
  close(fd);
}

int main(void) {
  mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);  // may already be there
  const char* dev = Env("net_dev", "eth0");
  Configure(dev);
  if (strcmp(Env("net_role", "sender"), "sink") == 0) {
    RunNetSink(Env("net_addr", "10.0.2.15"), atoi(Env("net_port", "5001")),
               "netsink: ");
    printf("netsink: done\n");
    fflush(stdout);
    reboot(RB_POWER_OFF);
    return 0;
  }
  struct sockaddr_in sink;
  memset(&sink, 0, sizeof sink);
  sink.sin_family = AF_INET;
  sink.sin_port = htons(atoi(Env("net_port", "5001")));
  inet_pton(AF_INET, Env("net_sink", "10.0.2.2"), &sink.sin_addr);
  Tcp(&sink, atol(Env("net_bytes", "16777216")));
  Udp(sink, atol(Env("net_udp", "20000")), atoi(Env("net_udp_size", "18")));
  printf("netflood: done\n");
  fflush(stdout);
  sync();
  reboot(RB_POWER_OFF);
  return 0;
}
