// The receiving side of the network benchmark (net_flood_init.c sends):
// accepts one TCP connection on <addr>:<port>, reads to EOF, answers
// "got <n>"; then counts UDP datagrams on <addr>:<port+1> until an
// "END <sent>" marker (or 60 s of silence). Times use the kernel's receive
// timestamps (SO_TIMESTAMPNS), so a slow reader does not lower the rate as
// long as the receive buffer holds the burst. Prints, each line starting
// with `prefix`:
//   listening
//   tcp <bytes> <seconds, first byte to EOF>
//   udp <received> <sent by the guest> <seconds, first to last datagram>
// Used by the host's net_sink and, for guest-to-guest runs, by the guest
// init itself. Returns 0, or non-zero when it could not listen.
#ifndef KUML_BENCH_NET_SINK_LIB_H_
#define KUML_BENCH_NET_SINK_LIB_H_

int RunNetSink(const char* addr, int port, const char* prefix);

#endif  // KUML_BENCH_NET_SINK_LIB_H_
