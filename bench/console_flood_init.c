// init for the console throughput benchmark, the same binary in kuml's guest
// and in UML: writes flood_bytes (default 4 MiB) to flood_dev (a console
// tty: /dev/hvc0 in kuml's guest, /dev/tty1 in UML) in 4 KiB writes, waits
// for the output to drain, prints the guest-measured time on the boot
// console and powers off. Parameters come as kernel command line a=b words
// (the kernel hands them to init's environment).
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static double Now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(void) {
  mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);  // may already be there
  const char* dev = getenv("flood_dev") ? getenv("flood_dev") : "/dev/hvc0";
  long total = getenv("flood_bytes") ? atol(getenv("flood_bytes")) : 4 << 20;
  int fd = open(dev, O_WRONLY | O_NOCTTY);
  if (fd < 0) {
    printf("flood: cannot open %s\n", dev);
  } else {
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {  // raw: bytes go out as written
      cfmakeraw(&t);
      tcsetattr(fd, TCSANOW, &t);
    }
    static char block[4096];
    for (size_t i = 0; i < sizeof block; i++) block[i] = 'a' + i % 26;
    double start = Now();
    long left = total;
    while (left > 0) {
      ssize_t n = write(fd, block, left < 4096 ? left : 4096);
      if (n <= 0) break;
      left -= n;
    }
    tcdrain(fd);
    double s = Now() - start;
    printf("flood: %ld bytes to %s in %.3f s: %.0f bytes/s\n", total - left,
           dev, s, (total - left) / s);
  }
  fflush(stdout);
  sync();
  reboot(RB_POWER_OFF);
  return 0;
}
