// kuml-agent: the guest side of the mconsole commands that need the guest's
// cooperation (log, proc, stack, cad, and the bind/unbind steps of hot-plug).
// Static, no dependencies beyond libc; started at boot by
// /etc/kuml/init.d/50-kuml-agent when the guest has the agent's port.
//
// Transport: a byte stream to the host -- the virtio-console port named
// "org.kuml.agent" (found under /sys/class/virtio-ports), or --device PATH,
// or --fd N. Frames both ways (mconsole/agent_protocol.h):
//   request  u32 length of the text, u32 sequence number, the command text
//   reply    u32 length of status + text, the request's u32 sequence number,
//            a status byte ('0' ok, '1' error), the text
// (all u32 little-endian). The sequence number lets the host drop a late
// answer to a request it gave up on.
// Commands:
//   ping                 -> "kuml-agent 1"
//   log <text>           -> writes <text> to the kernel log (KERN_WARNING)
//   proc <file>          -> contents of /proc/<file> ("Failed to open file")
//   stack <pid>          -> the task's kernel stack ("Couldn't find that pid")
//   cad                  -> the kernel's Ctrl-Alt-Del action: restart when
//                           /proc/sys/kernel/ctrl-alt-del is 1, else SIGINT to
//                           init (what busybox init turns into its ctrlaltdel)
//   bind <dev> [hvc] / unbind <dev> [<tty>]  -> virtio-mmio platform device
//                           (re)probe. bind ... hvc waits for the device's
//                           console port to get a console tty and answers
//                           its name ("hvc2", or "tty3" under UML's names).
//                           unbind refuses ("Device is currently open") while a
//                           disk of the device or one of its partitions is
//                           mounted or held exclusively (swap, md, another
//                           O_EXCL opener), an interface of it is up, one of
//                           its ports is open, or <tty> is open
//
// Test options: --kmsg PATH (instead of /dev/kmsg), --proc DIR (instead of
// /proc), --init-pid PID, --no-restart (cad never restarts the machine).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_REQUEST 4096
#define MAX_REPLY (1 << 20)
#define PORT_NAME "org.kuml.agent"
#define MMIO_DRIVER "/sys/bus/platform/drivers/virtio-mmio"

static const char* kmsg_path = "/dev/kmsg";
static const char* proc_root = "/proc";
static pid_t init_pid = 1;
static int no_restart = 0;

static char reply[MAX_REPLY];
static size_t reply_len;
static int reply_status;

static void set_reply(int status, const char* text) {
  reply_status = status;
  reply_len = strlen(text);
  if (reply_len > MAX_REPLY) reply_len = MAX_REPLY;
  memcpy(reply, text, reply_len);
}

static int read_full(int fd, void* buf, size_t n) {
  char* p = buf;
  while (n > 0) {
    ssize_t got = read(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return -1;
    p += got;
    n -= (size_t)got;
  }
  return 0;
}

static int write_full(int fd, const void* buf, size_t n) {
  const char* p = buf;
  while (n > 0) {
    ssize_t put = write(fd, p, n);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return -1;
    p += put;
    n -= (size_t)put;
  }
  return 0;
}

static void put_u32(unsigned char* p, uint32_t v) {
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = v >> 24;
}

static uint32_t get_u32(const unsigned char* p) {
  return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static int send_reply(int fd, uint32_t seq) {
  unsigned char head[9];
  put_u32(head, (uint32_t)reply_len + 1);
  put_u32(head + 4, seq);
  head[8] = reply_status ? '1' : '0';
  if (write_full(fd, head, sizeof(head)) != 0) return -1;
  return write_full(fd, reply, reply_len);
}

// Reads a whole file into the reply; -1 if it cannot be opened.
static int read_file_into_reply(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  reply_len = 0;
  while (reply_len < MAX_REPLY) {
    ssize_t got = read(fd, reply + reply_len, MAX_REPLY - reply_len);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    reply_len += (size_t)got;
  }
  close(fd);
  reply_status = 0;
  return 0;
}

static void do_log(const char* text) {
  int fd = open(kmsg_path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    set_reply(1, "Cannot open the kernel log");
    return;
  }
  // printk(KERN_WARNING "%.*s"): level 4.
  char line[MAX_REQUEST + 8];
  snprintf(line, sizeof(line), "<4>%s", text);
  ssize_t n = write(fd, line, strlen(line));
  close(fd);
  set_reply(n < 0 ? 1 : 0, n < 0 ? "Cannot write the kernel log" : "");
}

static void do_proc(const char* file) {
  char path[MAX_REQUEST + 64];
  // /proc/<file>, never above /proc.
  if (*file == '\0' || strstr(file, "..") != NULL) {
    set_reply(1, "Failed to open file");
    return;
  }
  snprintf(path, sizeof(path), "%s/%s", proc_root, file);
  if (read_file_into_reply(path) != 0) set_reply(1, "Failed to open file");
}

static void do_stack(const char* arg) {
  char* end;
  long pid = strtol(arg, &end, 0);
  char path[256];
  snprintf(path, sizeof(path), "%s/%ld", proc_root, pid);
  struct stat st;
  if (end == arg || pid <= 0 || stat(path, &st) != 0) {
    set_reply(1, "Couldn't find that pid");
    return;
  }
  char comm[64] = "?";
  snprintf(path, sizeof(path), "%s/%ld/comm", proc_root, pid);
  FILE* f = fopen(path, "r");
  if (f != NULL) {
    if (fgets(comm, sizeof(comm), f) != NULL) comm[strcspn(comm, "\n")] = 0;
    fclose(f);
  }
  char head[160];
  snprintf(head, sizeof(head), "Stack of pid %ld (%s):\n", pid, comm);
  // /proc/<pid>/stack needs CONFIG_STACKTRACE; without it say where the
  // task waits (wchan), which is what the kernel can tell.
  snprintf(path, sizeof(path), "%s/%ld/stack", proc_root, pid);
  if (read_file_into_reply(path) == 0 && reply_len > 0) {
    size_t h = strlen(head);
    if (reply_len + h > MAX_REPLY) reply_len = MAX_REPLY - h;
    memmove(reply + h, reply, reply_len);
    memcpy(reply, head, h);
    reply_len += h;
    return;
  }
  snprintf(path, sizeof(path), "%s/%ld/wchan", proc_root, pid);
  char wchan[128] = "";
  f = fopen(path, "r");
  if (f != NULL) {
    if (fgets(wchan, sizeof(wchan), f) == NULL) wchan[0] = 0;
    fclose(f);
  }
  char text[400];
  snprintf(text, sizeof(text),
           "%s waiting in %s\n(no /proc/%ld/stack: the guest kernel lacks "
           "CONFIG_STACKTRACE)\n",
           head, wchan[0] && strcmp(wchan, "0") ? wchan : "(running)", pid);
  set_reply(0, text);
}

// 1 when the kernel would restart at once (C_A_D set), 0 when it would
// signal init.
static int cad_restarts(void) {
  char path[256], v[16] = "";
  snprintf(path, sizeof(path), "%s/sys/kernel/ctrl-alt-del", proc_root);
  FILE* f = fopen(path, "r");
  if (f == NULL) return 1;
  if (fgets(v, sizeof(v), f) == NULL) v[0] = 0;
  fclose(f);
  return atoi(v) != 0;
}

// 1 when the block device whose sysfs "dev" file is `devfile` ("254:16")
// is mounted.
static int dev_mounted(const char* devfile) {
  char want[32] = "";
  FILE* f = fopen(devfile, "r");
  if (f == NULL) return 0;
  if (fgets(want, sizeof(want), f) == NULL) want[0] = 0;
  fclose(f);
  want[strcspn(want, "\n")] = 0;
  if (want[0] == 0) return 0;
  char path[256];
  snprintf(path, sizeof(path), "%s/self/mountinfo", proc_root);
  f = fopen(path, "r");
  if (f == NULL) return 0;
  char line[4096];
  int found = 0;
  while (!found && fgets(line, sizeof(line), f) != NULL) {
    // id parent major:minor root mountpoint ...
    char* p = strchr(line, ' ');
    if (p != NULL) p = strchr(p + 1, ' ');
    if (p == NULL) continue;
    p++;
    size_t n = strcspn(p, " ");
    found = n == strlen(want) && strncmp(p, want, n) == 0;
  }
  fclose(f);
  return found;
}

// 1 when /dev/<name> cannot be opened exclusively because someone holds it
// (a mounted file system, swap, another O_EXCL opener).
static int dev_claimed(const char* name) {
  char node[300];
  snprintf(node, sizeof(node), "/dev/%.64s", name);
  int fd = open(node, O_RDONLY | O_EXCL | O_CLOEXEC | O_NONBLOCK);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  return errno == EBUSY;
}

// Calls `fn(dir, name)` for each entry of
// /sys/bus/platform/devices/<dev>/virtio<m>/<subdir>/ until it returns 1;
// returns 1 if it did.
static int any_child(const char* dev, const char* subdir,
                     int (*fn)(const char* dir, const char* name)) {
  char path[512];
  snprintf(path, sizeof(path), "/sys/bus/platform/devices/%.64s", dev);
  DIR* d = opendir(path);
  if (d == NULL) return 0;
  int hit = 0;
  struct dirent* e;
  while (!hit && (e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, "virtio", 6) != 0) continue;
    char sub[700];
    snprintf(sub, sizeof(sub), "%.300s/%.64s/%.32s", path, e->d_name, subdir);
    DIR* s = opendir(sub);
    if (s == NULL) continue;
    struct dirent* c;
    while (!hit && (c = readdir(s)) != NULL) {
      if (c->d_name[0] != '.') hit = fn(sub, c->d_name);
    }
    closedir(s);
  }
  closedir(d);
  return hit;
}

// A disk (block/<vdX>) is in use while it or one of its partitions is
// mounted, or it is held exclusively.
static int disk_busy(const char* dir, const char* name) {
  char sys[900], file[1200];
  snprintf(sys, sizeof(sys), "%.600s/%.64s", dir, name);
  snprintf(file, sizeof(file), "%.400s/dev", sys);
  int busy = dev_mounted(file) || dev_claimed(name);
  DIR* parts = opendir(sys);
  struct dirent* part;
  while (!busy && parts != NULL && (part = readdir(parts)) != NULL) {
    snprintf(file, sizeof(file), "%.400s/%.64s/partition", sys, part->d_name);
    if (part->d_name[0] == '.' || access(file, F_OK) != 0) continue;
    snprintf(file, sizeof(file), "%.400s/%.64s/dev", sys, part->d_name);
    busy = dev_mounted(file);
  }
  if (parts != NULL) closedir(parts);
  return busy;
}

// A network interface is in use while it is up (UML's remove: the device
// is open).
static int interface_up(const char* dir, const char* name) {
  char path[900], v[32] = "";
  snprintf(path, sizeof(path), "%.600s/%.64s/flags", dir, name);
  FILE* f = fopen(path, "r");
  if (f == NULL) return 0;
  if (fgets(v, sizeof(v), f) == NULL) v[0] = 0;
  fclose(f);
  return (strtoul(v, NULL, 0) & 0x1) != 0;  // IFF_UP
}

// 1 when a process other than the agent has /dev/<name> open.
static int node_open(const char* name) {
  char want[128];
  snprintf(want, sizeof(want), "/dev/%.64s", name);
  DIR* p = opendir(proc_root);
  if (p == NULL) return 0;
  int found = 0;
  struct dirent* e;
  while (!found && (e = readdir(p)) != NULL) {
    char* end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end != 0 || pid <= 0 || pid == (long)getpid()) continue;
    char fds[300];
    snprintf(fds, sizeof(fds), "%s/%ld/fd", proc_root, pid);
    DIR* f = opendir(fds);
    if (f == NULL) continue;
    struct dirent* fd;
    while (!found && (fd = readdir(f)) != NULL) {
      char link[600], target[256];
      snprintf(link, sizeof(link), "%.300s/%.32s", fds, fd->d_name);
      ssize_t n = readlink(link, target, sizeof(target) - 1);
      if (n <= 0) continue;
      target[n] = 0;
      found = strcmp(target, want) == 0;
    }
    closedir(f);
  }
  closedir(p);
  return found;
}

static int port_open(const char* dir, const char* name) {
  (void)dir;
  return node_open(name);
}

// 1 while the guest uses platform device `dev`: a disk mounted or held, an
// interface up, a port open, or the tty `tty` (may be empty) open.
static int platform_busy(const char* dev, const char* tty) {
  return any_child(dev, "block", disk_busy) ||
         any_child(dev, "net", interface_up) ||
         any_child(dev, "virtio-ports", port_open) ||
         (tty[0] != 0 && node_open(tty));
}

// The ttys a virtio console port can get: hvc0..hvc7, or, under
// kuml_names=uml (kuml's kernel with UML's names), tty1..tty15 (con<n>)
// and ttyS0..ttyS63 (ssl<n>).
#define CONSOLE_TTYS (8 + 15 + 64)
static void console_tty_name(int i, char* name, size_t size) {
  if (i < 8)
    snprintf(name, size, "hvc%d", i);
  else if (i < 8 + 15)
    snprintf(name, size, "tty%d", i - 7);
  else
    snprintf(name, size, "ttyS%d", i - 8 - 15);
}

// Which of those ttys have a port behind them (the others' open fails with
// ENODEV or ENOENT): present[i] for console_tty_name(i).
static void hvc_present(char present[CONSOLE_TTYS]) {
  for (int i = 0; i < CONSOLE_TTYS; i++) {
    char node[32], name[16];
    console_tty_name(i, name, sizeof(name));
    snprintf(node, sizeof(node), "/dev/%s", name);
    int fd = open(node, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    present[i] = fd >= 0;
    if (fd >= 0) close(fd);
  }
}

static int write_driver_file(const char* what, const char* dev) {
  char path[256];
  snprintf(path, sizeof(path), "%s/%.16s", MMIO_DRIVER, what);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : write(fd, dev, strlen(dev));
  int err = errno;
  if (fd >= 0) close(fd);
  if (n < 0) {
    char text[300];
    snprintf(text, sizeof(text), "%.16s %.64s: %.100s", what, dev,
             strerror(err));
    set_reply(1, text);
    return -1;
  }
  return 0;
}

// "bind <dev> [hvc]" / "unbind <dev> [<tty>]". With "hvc", bind waits for
// the device's console port to get an hvc tty and answers its name.
static void do_platform(const char* what, char* arg) {
  char* extra = strchr(arg, ' ');
  if (extra != NULL)
    *extra++ = '\0';
  else
    extra = arg + strlen(arg);
  const char* dev = arg;
  if (strcmp(what, "unbind") == 0) {
    if (strchr(extra, '/') != NULL) {
      set_reply(1, "Bad tty name");
      return;
    }
    if (platform_busy(dev, extra)) {
      set_reply(1, "Device is currently open");  // UML's remove: -EBUSY
      return;
    }
    if (write_driver_file(what, dev) == 0) set_reply(0, "");
    return;
  }
  int want_hvc = strcmp(extra, "hvc") == 0;
  char before[CONSOLE_TTYS] = {0}, now[CONSOLE_TTYS];
  if (want_hvc) hvc_present(before);
  if (write_driver_file(what, dev) != 0) return;
  if (!want_hvc) {
    set_reply(0, "");
    return;
  }
  // Console ports are added from the device's control queue, after probe.
  for (int tries = 0; tries < 200; tries++) {
    hvc_present(now);
    for (int i = 0; i < CONSOLE_TTYS; i++) {
      if (now[i] && !before[i]) {
        char name[16];
        console_tty_name(i, name, sizeof(name));
        set_reply(0, name);
        return;
      }
    }
    usleep(50000);
  }
  write_driver_file("unbind", dev);
  set_reply(1, "No console tty is free for the console port");
}

// Returns 1 when the machine must restart after the reply went out.
static int handle(char* request) {
  char* arg = strchr(request, ' ');
  if (arg != NULL)
    *arg++ = '\0';
  else
    arg = request + strlen(request);
  if (strcmp(request, "ping") == 0) {
    set_reply(0, "kuml-agent 1");
  } else if (strcmp(request, "log") == 0) {
    do_log(arg);
  } else if (strcmp(request, "proc") == 0) {
    do_proc(arg);
  } else if (strcmp(request, "stack") == 0) {
    do_stack(arg);
  } else if (strcmp(request, "cad") == 0) {
    set_reply(0, "");
    if (cad_restarts()) return !no_restart;
    if (kill(init_pid, SIGINT) != 0) set_reply(1, "Cannot signal init");
  } else if (strcmp(request, "bind") == 0 || strcmp(request, "unbind") == 0) {
    do_platform(request, arg);
  } else {
    set_reply(1, "Unknown agent command");
  }
  return 0;
}

static int serve(int fd) {
  static char request[MAX_REQUEST + 1];
  for (;;) {
    unsigned char head[8];
    if (read_full(fd, head, sizeof(head)) != 0) return 0;
    uint32_t len = get_u32(head);
    uint32_t seq = get_u32(head + 4);
    if (len > MAX_REQUEST) {
      // Skip it, answer with an error: the stream stays in step.
      char sink[256];
      while (len > 0) {
        size_t n = len < sizeof(sink) ? len : sizeof(sink);
        if (read_full(fd, sink, n) != 0) return 0;
        len -= (uint32_t)n;
      }
      set_reply(1, "Request too large");
      if (send_reply(fd, seq) != 0) return 0;
      continue;
    }
    if (read_full(fd, request, len) != 0) return 0;
    request[len] = '\0';
    int restart = handle(request);
    if (send_reply(fd, seq) != 0) return 0;
    if (restart) {
      sync();
      reboot(RB_AUTOBOOT);  // what the kernel's ctrl_alt_del() does
    }
  }
}

// /dev/vportNpM of the port named PORT_NAME, or NULL.
static const char* find_port(void) {
  static char dev[300];
  DIR* d = opendir("/sys/class/virtio-ports");
  if (d == NULL) return NULL;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[300], name[64] = "";
    snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", e->d_name);
    FILE* f = fopen(path, "r");
    if (f == NULL) continue;
    if (fgets(name, sizeof(name), f) == NULL) name[0] = 0;
    fclose(f);
    name[strcspn(name, "\n")] = 0;
    if (strcmp(name, PORT_NAME) == 0) {
      snprintf(dev, sizeof(dev), "/dev/%s", e->d_name);
      closedir(d);
      return dev;
    }
  }
  closedir(d);
  return NULL;
}

int main(int argc, char** argv) {
  const char* device = NULL;
  int fd = -1, daemonize = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
      device = argv[++i];
    else if (strcmp(argv[i], "--fd") == 0 && i + 1 < argc)
      fd = atoi(argv[++i]);
    else if (strcmp(argv[i], "--kmsg") == 0 && i + 1 < argc)
      kmsg_path = argv[++i];
    else if (strcmp(argv[i], "--proc") == 0 && i + 1 < argc)
      proc_root = argv[++i];
    else if (strcmp(argv[i], "--init-pid") == 0 && i + 1 < argc)
      init_pid = atoi(argv[++i]);
    else if (strcmp(argv[i], "--no-restart") == 0)
      no_restart = 1;
    else if (strcmp(argv[i], "--daemon") == 0)
      daemonize = 1;
    else {
      fprintf(stderr, "kuml-agent: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (fd < 0) {
    if (device == NULL) device = find_port();
    if (device == NULL) return 0;  // no agent port: nothing to serve
    fd = open(device, O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
      fprintf(stderr, "kuml-agent: %s: %s\n", device, strerror(errno));
      return 1;
    }
  }
  if (daemonize && daemon(0, 0) != 0) return 1;
  signal(SIGPIPE, SIG_IGN);
  return serve(fd);
}
