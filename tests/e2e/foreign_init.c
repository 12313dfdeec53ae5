// A stand-alone /init for an ext4 image that kuml's own guest/ did not build:
// proves `kuml ubd0=<any ext4 image with a static /init> ... init=/init rw`
// boots, that the guest can read and write its root file system, and that a
// plain reboot(RB_POWER_OFF) ends kuml with status 0. Linked statically by
// the test with the host's libc.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

static void say(const char* s) { (void)!write(1, s, strlen(s)); }

int main(void) {
  say("foreign-init: started\n");
  char buf[128] = {0};
  int fd = open("/etc/foreign-message", O_RDONLY);
  if (fd < 0 || read(fd, buf, sizeof buf - 1) <= 0) {
    say("foreign-init: cannot read /etc/foreign-message\n");
  } else {
    say("foreign-init: read: ");
    say(buf);
  }
  if (fd >= 0) close(fd);
  fd = open("/written-by-guest", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const char msg[] = "the guest wrote this\n";
  if (fd < 0 || write(fd, msg, sizeof msg - 1) != sizeof msg - 1 ||
      fsync(fd) != 0) {
    say("foreign-init: write FAILED\n");
  } else {
    say("foreign-init: wrote /written-by-guest\n");
  }
  if (fd >= 0) close(fd);
  sync();
  say("foreign-init: powering off\n");
  reboot(RB_POWER_OFF);
  say("foreign-init: reboot() returned\n");
  for (;;) pause();
}
