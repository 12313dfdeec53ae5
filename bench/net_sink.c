// Host-side receiver of the guest network benchmark (net_flood_init.c);
// what it does and prints: net_sink_lib.h.
// usage: net_sink <addr> <port>
#include <stdio.h>
#include <stdlib.h>

#include "bench/net_sink_lib.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: net_sink <addr> <port>\n");
    return 2;
  }
  return RunNetSink(argv[1], atoi(argv[2]), "");
}
