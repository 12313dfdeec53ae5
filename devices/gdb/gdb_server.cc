#include "devices/gdb/gdb_server.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "devices/gdb/hex.h"
#include "devices/gdb/register_layout.h"
#include "devices/gdb/target_description.h"

namespace kuml {
namespace {

// Error replies (errno values, as gdbserver uses them; gdb shows only that
// the request failed).
constexpr char kErrTarget[] = "E01";   // the target failed
constexpr char kErrThread[] = "E03";   // ESRCH: no such thread
constexpr char kErrTooBig[] = "E07";   // E2BIG: packet over the maximum
constexpr char kErrMemory[] = "E0e";   // EFAULT: memory not accessible
constexpr char kErrBusy[] = "E10";     // EBUSY: the machine is running
constexpr char kErrInvalid[] = "E16";  // EINVAL: malformed packet
constexpr char kErrAnnex[] = "E00";    // qXfer: no such annex

// The most data one reply carries (hex doubles it, escapes may too).
constexpr size_t kMaxReplyData = kRspMaxPacketSize / 2;

}  // namespace

GdbServer::GdbServer(DebugTarget* target, SendFn send, WakeupFn wakeup)
    : target_(target), send_(std::move(send)), wakeup_(std::move(wakeup)) {
  target_->SetStopSink(this);
}

GdbServer::~GdbServer() { target_->SetStopSink(nullptr); }

absl::Status GdbServer::Connect() {
  if (connected_) {
    return absl::FailedPreconditionError(
        "gdb: a debugger is already connected");
  }
  decoder_.Reset();
  running_ = false;
  session_over_ = false;
  swbreak_ = hwbreak_ = false;
  current_thread_ = 1;
  general_thread_ = kAnyThread;
  continue_thread_ = kAllThreads;
  enter_no_ack_ = false;
  pending_exit_.reset();
  last_stop_ = StopReply(StopEvent::SingleStep(1), false, false);  // T05
  last_sent_.clear();
  {
    absl::MutexLock lock(&mu_);
    stops_.clear();
  }
  absl::Status s = target_->Attach();
  if (!s.ok()) {
    last_error_ = std::string(s.message());
    return s;
  }
  attached_ = true;
  connected_ = true;
  return absl::OkStatus();
}

void GdbServer::Disconnect() {
  if (!connected_) return;
  if (attached_) {
    absl::Status s = target_->Detach();
    if (!s.ok()) last_error_ = std::string(s.message());
    attached_ = false;
  }
  connected_ = false;
  running_ = false;
}

void GdbServer::Receive(absl::string_view bytes) {
  while (!bytes.empty() && connected_ && !session_over_) {
    std::optional<RspEvent> event;
    std::string acks;
    bytes.remove_prefix(decoder_.Next(bytes, &event, &acks));
    if (!acks.empty()) send_(acks);
    if (!event.has_value()) continue;
    switch (event->type) {
      case RspEvent::Type::kPacket:
        if (running_) {
          SendPacket(kErrBusy);
        } else if (std::optional<std::string> reply = Handle(event->data)) {
          SendPacket(*reply);
        }
        if (enter_no_ack_) {
          decoder_.set_no_ack_mode(true);
          enter_no_ack_ = false;
        }
        break;
      case RspEvent::Type::kInterrupt:
        Interrupt();
        break;
      case RspEvent::Type::kNack:
        if (!decoder_.no_ack_mode() && !last_sent_.empty()) send_(last_sent_);
        break;
      case RspEvent::Type::kMalformed:
        last_error_ = absl::StrCat("gdb: ", event->data);
        SendPacket(kErrInvalid);
        break;
      case RspEvent::Type::kOversized:
        last_error_ = absl::StrFormat("gdb: packet longer than %u bytes",
                                      kRspMaxPacketSize);
        SendPacket(kErrTooBig);
        break;
    }
    DeliverStops();
  }
}

void GdbServer::OnStop(const StopEvent& event) {
  {
    absl::MutexLock lock(&mu_);
    stops_.push_back(event);
  }
  if (wakeup_) wakeup_();
}

void GdbServer::DeliverStops() {
  std::vector<StopEvent> stops;
  {
    absl::MutexLock lock(&mu_);
    if (stops_.empty()) return;
    stops.swap(stops_);
  }
  for (StopEvent& event : stops) {
    if (!connected_ || session_over_) {
      ++dropped_stops_;
      continue;
    }
    if (!ValidThread(event.thread)) event.thread = 1;
    if (!running_) {
      // All-stop: nobody waits for it. An exit is kept for the next resume.
      if (event.reason == StopEvent::Reason::kExited) pending_exit_ = event;
      ++dropped_stops_;
      continue;
    }
    running_ = false;
    current_thread_ = event.thread;
    // gdb takes the stopped thread as the selected one (remote.c's
    // record_currthread): so do we.
    general_thread_ = event.thread;
    last_stop_ = StopReply(event, swbreak_, hwbreak_);
    SendPacket(last_stop_);
    if (event.reason == StopEvent::Reason::kExited) {
      attached_ = false;
      session_over_ = true;
    }
  }
}

void GdbServer::SendPacket(absl::string_view payload) {
  last_sent_ = EncodeRspPacket(payload);
  send_(last_sent_);
}

void GdbServer::Interrupt() {
  if (!running_) return;  // gdb may race a stop with Ctrl-C: nothing to do
  absl::Status s = target_->Interrupt();
  if (!s.ok()) last_error_ = std::string(s.message());
}

int GdbServer::GeneralThread() const {
  return general_thread_ > 0 ? general_thread_ : current_thread_;
}

bool GdbServer::ValidThread(int thread) const {
  return thread >= 1 && thread <= target_->thread_count();
}

std::string GdbServer::Fail(const absl::Status& status, const char* reply) {
  last_error_ = std::string(status.message());
  return reply;
}

std::optional<std::string> GdbServer::Handle(absl::string_view packet) {
  if (packet.empty()) return "";
  const absl::string_view args = packet.substr(1);
  switch (packet[0]) {
    case '?':
      return last_stop_;
    case 'g':
      return ReadAllRegisters();
    case 'G':
      return WriteAllRegisters(args);
    case 'p':
      return ReadOneRegister(args);
    case 'P':
      return WriteOneRegister(args);
    case 'm':
      return ReadMemory(args);
    case 'M':
      return WriteMemory(args, /*binary=*/false);
    case 'X':
      return WriteMemory(args, /*binary=*/true);
    case 'Z':
      return Breakpoint(args, /*insert=*/true);
    case 'z':
      return Breakpoint(args, /*insert=*/false);
    case 'c':
    case 's':
    case 'C':
    case 'S':
      return LegacyResume(packet);
    case 'H':
      return HandleSetThread(args);
    case 'T': {
      absl::StatusOr<int> thread = ParseThreadId(args);
      if (!thread.ok()) return Fail(thread.status(), kErrInvalid);
      return ValidThread(*thread) ? "OK" : kErrThread;
    }
    case 'D':
      return HandleDetach();
    case 'k':
      HandleKill();
      return std::nullopt;
    case 'q':
    case 'Q':
      return HandleQuery(packet);
    case 'v':
      if (absl::StartsWith(packet, "vCont"))
        return HandleVCont(packet.substr(5));
      return "";
    default:
      return "";
  }
}

std::optional<std::string> GdbServer::HandleQuery(absl::string_view packet) {
  if (packet == "qSupported" || absl::StartsWith(packet, "qSupported:")) {
    return HandleSupported(packet.substr(std::min<size_t>(packet.size(), 11)));
  }
  if (packet == "QStartNoAckMode") {
    enter_no_ack_ = true;
    return "OK";
  }
  if (absl::StartsWith(packet, "qXfer:features:read:")) {
    return HandleXfer(packet.substr(20));
  }
  if (packet == "qfThreadInfo") {
    std::string reply = "m";
    for (int t = 1; t <= target_->thread_count(); ++t) {
      if (t > 1) reply += ',';
      reply += HexNumber(t);
    }
    return reply;
  }
  if (packet == "qsThreadInfo") return "l";
  if (packet == "qC") return absl::StrCat("QC", HexNumber(current_thread_));
  if (packet == "qAttached" || absl::StartsWith(packet, "qAttached:")) {
    return "1";
  }
  if (absl::StartsWith(packet, "qThreadExtraInfo,")) {
    absl::StatusOr<int> thread = ParseThreadId(packet.substr(17));
    if (!thread.ok()) return Fail(thread.status(), kErrInvalid);
    if (!ValidThread(*thread)) return kErrThread;
    return HexEncode(absl::StrCat("vCPU ", *thread - 1));
  }
  return "";
}

std::string GdbServer::HandleSupported(absl::string_view features) {
  for (absl::string_view f : absl::StrSplit(features, ';')) {
    if (f == "swbreak+") swbreak_ = true;
    if (f == "hwbreak+") hwbreak_ = true;
  }
  return absl::StrFormat(
      "PacketSize=%x;QStartNoAckMode+;qXfer:features:read+;vContSupported+;"
      "swbreak+;hwbreak+",
      kRspMaxPacketSize);
}

std::string GdbServer::HandleXfer(absl::string_view args) {
  absl::StatusOr<XferRead> read = ParseXferRead(args);
  if (!read.ok()) return Fail(read.status(), kErrAnnex);
  if (read->annex != "target.xml") return kErrAnnex;
  const std::string& xml = X86TargetDescriptionXml();
  if (read->offset >= xml.size()) return "l";
  const absl::string_view chunk = absl::string_view(xml).substr(
      read->offset, std::min<uint64_t>(read->length, kMaxReplyData));
  const bool last = read->offset + chunk.size() >= xml.size();
  return absl::StrCat(last ? "l" : "m", chunk);
}

std::string GdbServer::HandleSetThread(absl::string_view args) {
  if (args.empty() || (args[0] != 'g' && args[0] != 'c')) return kErrInvalid;
  absl::StatusOr<int> thread = ParseThreadId(args.substr(1));
  if (!thread.ok()) return Fail(thread.status(), kErrInvalid);
  if (*thread > 0 && !ValidThread(*thread)) return kErrThread;
  if (args[0] == 'g') {
    general_thread_ = *thread > 0 ? *thread : kAnyThread;
  } else {
    continue_thread_ = *thread > 0 ? *thread : kAllThreads;
  }
  return "OK";
}

std::string GdbServer::ReadAllRegisters() {
  absl::StatusOr<X86Registers> regs = target_->ReadRegisters(GeneralThread());
  if (!regs.ok()) return Fail(regs.status(), kErrTarget);
  return HexEncode(EncodeGdbRegisters(*regs));
}

std::string GdbServer::WriteAllRegisters(absl::string_view hex) {
  absl::StatusOr<std::vector<uint8_t>> bytes = HexDecode(hex);
  if (!bytes.ok()) return Fail(bytes.status(), kErrInvalid);
  const int thread = GeneralThread();
  absl::StatusOr<X86Registers> regs = target_->ReadRegisters(thread);
  if (!regs.ok()) return Fail(regs.status(), kErrTarget);
  absl::Status s = DecodeGdbRegisters(*bytes, &*regs);
  if (!s.ok()) return Fail(s, kErrInvalid);
  s = target_->WriteRegisters(thread, *regs);
  if (!s.ok()) return Fail(s, kErrTarget);
  return "OK";
}

std::string GdbServer::ReadOneRegister(absl::string_view args) {
  absl::StatusOr<uint64_t> n = ParseHexNumber(args);
  if (!n.ok()) return Fail(n.status(), kErrInvalid);
  if (*n >= GdbRegisters().size()) return kErrInvalid;
  absl::StatusOr<X86Registers> regs = target_->ReadRegisters(GeneralThread());
  if (!regs.ok()) return Fail(regs.status(), kErrTarget);
  return HexEncode(EncodeGdbRegister(*regs, *n));
}

std::string GdbServer::WriteOneRegister(absl::string_view args) {
  absl::StatusOr<RegisterWrite> write = ParseRegisterWrite(args);
  if (!write.ok()) return Fail(write.status(), kErrInvalid);
  if (write->regnum >= GdbRegisters().size()) return kErrInvalid;
  const int thread = GeneralThread();
  absl::StatusOr<X86Registers> regs = target_->ReadRegisters(thread);
  if (!regs.ok()) return Fail(regs.status(), kErrTarget);
  absl::Status s = DecodeGdbRegister(write->value, write->regnum, &*regs);
  if (!s.ok()) return Fail(s, kErrInvalid);
  s = target_->WriteRegisters(thread, *regs);
  if (!s.ok()) return Fail(s, kErrTarget);
  return "OK";
}

std::string GdbServer::ReadMemory(absl::string_view args) {
  absl::StatusOr<MemoryRange> range = ParseMemoryRange(args);
  if (!range.ok()) return Fail(range.status(), kErrInvalid);
  if (range->length == 0) return kErrInvalid;
  // A shorter answer is allowed; gdb asks again for the rest.
  const size_t len = std::min<uint64_t>(range->length, kMaxReplyData);
  absl::StatusOr<std::vector<uint8_t>> data =
      target_->ReadMemory(GeneralThread(), range->address, len);
  if (!data.ok()) return Fail(data.status(), kErrMemory);
  if (data->size() != len) {
    return Fail(absl::InternalError(
                    absl::StrFormat("target read %u bytes at %#x, not %u",
                                    data->size(), range->address, len)),
                kErrMemory);
  }
  return HexEncode(*data);
}

std::string GdbServer::WriteMemory(absl::string_view args, bool binary) {
  absl::StatusOr<MemoryWrite> write = ParseMemoryWrite(args, binary);
  if (!write.ok()) return Fail(write.status(), kErrInvalid);
  if (write->data.empty()) return "OK";  // gdb probes X with length 0
  absl::Status s =
      target_->WriteMemory(GeneralThread(), write->address, write->data);
  if (!s.ok()) return Fail(s, kErrMemory);
  return "OK";
}

std::string GdbServer::Breakpoint(absl::string_view args, bool insert) {
  absl::StatusOr<BreakpointRequest> bp = ParseBreakpoint(args);
  if (!bp.ok()) return Fail(bp.status(), kErrInvalid);
  absl::Status s =
      insert ? target_->InsertBreakpoint(bp->type, bp->address, bp->kind)
             : target_->RemoveBreakpoint(bp->type, bp->address, bp->kind);
  if (absl::IsUnimplemented(s)) return "";
  if (!s.ok()) return Fail(s, kErrTarget);
  return "OK";
}

std::optional<std::string> GdbServer::HandleVCont(absl::string_view args) {
  if (args == "?") return "vCont;c;C;s;S;t";
  absl::StatusOr<std::vector<ResumeAction>> actions =
      ParseVCont(args, target_->thread_count());
  if (!actions.ok()) return Fail(actions.status(), kErrInvalid);
  return Resume(*actions);
}

std::optional<std::string> GdbServer::LegacyResume(absl::string_view packet) {
  const bool step = packet[0] == 's' || packet[0] == 'S';
  absl::string_view rest = packet.substr(1);
  if (packet[0] == 'C' || packet[0] == 'S') {
    // C<sig>[;addr]: the signal is ignored (nothing to deliver it to).
    absl::string_view sig = rest;
    const size_t semi = rest.find(';');
    if (semi != absl::string_view::npos) sig = rest.substr(0, semi);
    if (!ParseHexNumber(sig).ok()) return kErrInvalid;
    rest = semi == absl::string_view::npos ? "" : rest.substr(semi + 1);
  }
  std::optional<uint64_t> rip;
  if (!rest.empty()) {
    absl::StatusOr<uint64_t> addr = ParseHexNumber(rest);
    if (!addr.ok()) return Fail(addr.status(), kErrInvalid);
    rip = *addr;
  }
  const int count = target_->thread_count();
  const int chosen = continue_thread_ > 0 ? continue_thread_ : current_thread_;
  std::vector<ResumeAction> actions(count, ResumeAction::kStop);
  if (step) {
    actions[chosen - 1] = ResumeAction::kStep;
  } else if (continue_thread_ > 0) {
    actions[chosen - 1] = ResumeAction::kContinue;
  } else {
    std::fill(actions.begin(), actions.end(), ResumeAction::kContinue);
  }
  if (rip.has_value()) {
    absl::StatusOr<X86Registers> regs = target_->ReadRegisters(chosen);
    if (!regs.ok()) return Fail(regs.status(), kErrTarget);
    regs->rip = *rip;
    absl::Status s = target_->WriteRegisters(chosen, *regs);
    if (!s.ok()) return Fail(s, kErrTarget);
  }
  return Resume(actions);
}

std::optional<std::string> GdbServer::Resume(
    const std::vector<ResumeAction>& actions) {
  // A stop queued before this resume is not its answer.
  DeliverStops();
  if (pending_exit_.has_value()) {
    const StopEvent exit = *pending_exit_;
    pending_exit_.reset();
    attached_ = false;
    session_over_ = true;
    return StopReply(exit, swbreak_, hwbreak_);
  }
  if (std::none_of(actions.begin(), actions.end(),
                   [](ResumeAction a) { return a != ResumeAction::kStop; })) {
    // Nothing to run: the machine is stopped already (signal 0).
    return absl::StrCat("T00thread:", HexNumber(current_thread_), ";");
  }
  running_ = true;
  absl::Status s = target_->Resume(actions);
  if (!s.ok()) {
    running_ = false;
    return Fail(s, kErrTarget);
  }
  return std::nullopt;
}

std::string GdbServer::HandleDetach() {
  absl::Status s = target_->Detach();
  if (!s.ok()) return Fail(s, kErrTarget);
  attached_ = false;
  session_over_ = true;
  return "OK";
}

void GdbServer::HandleKill() {
  absl::Status s = target_->Kill();
  if (!s.ok()) last_error_ = std::string(s.message());
  attached_ = false;
  session_over_ = true;
}

}  // namespace kuml
