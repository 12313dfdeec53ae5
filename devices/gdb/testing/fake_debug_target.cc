#include "devices/gdb/testing/fake_debug_target.h"

#include "absl/strings/str_format.h"
#include "vmm/paging/page_walk.h"
#include "vmm/paging/testing/page_table_builder.h"

namespace kuml {
namespace {

constexpr uint64_t kRamBytes = 2 << 20;
constexpr uint64_t kTablesGpa = 0x1000;
constexpr uint64_t kTablesBytes = 0xf000;
constexpr uint64_t kTextGpa = 0x100000;
constexpr uint64_t kDataGpa = 0x110000;

PagingRegs Paging(const X86Registers& r) {
  PagingRegs p;
  p.cr0 = r.cr0;
  p.cr3 = r.cr3;
  p.cr4 = r.cr4;
  p.efer = r.efer;
  return p;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FakeDebugTarget>> FakeDebugTarget::Create(
    int threads) {
  if (threads < 1) return absl::InvalidArgumentError("fake: no threads");
  absl::StatusOr<std::unique_ptr<GuestMemory>> memory =
      GuestMemory::Create(kRamBytes);
  if (!memory.ok()) return memory.status();
  absl::StatusOr<PageTableBuilder> tables =
      PageTableBuilder::Create(memory->get(), kTablesGpa, kTablesBytes);
  if (!tables.ok()) return tables.status();
  absl::Status s = tables->MapRange(kTextBase, kTextGpa, kTextBytes);
  if (s.ok()) s = tables->MapRange(kDataBase, kDataGpa, kDataBytes);
  if (!s.ok()) return s;
  std::vector<uint8_t> text(kTextBytes);
  for (uint64_t i = 0; i < kTextBytes; ++i) text[i] = static_cast<uint8_t>(i);
  std::vector<uint64_t> data(kDataBytes / 8);
  for (uint64_t i = 0; i < data.size(); ++i) data[i] = kDataWord0 + i;
  s = (*memory)->Write(kTextGpa, text.data(), kTextBytes);
  if (s.ok()) s = (*memory)->Write(kDataGpa, data.data(), kDataBytes);
  if (!s.ok()) return s;
  std::unique_ptr<FakeDebugTarget> target(
      new FakeDebugTarget(threads, std::move(*memory)));
  const PagingRegs paging = tables->LongModeRegs();
  absl::MutexLock lock(&target->mu_);
  for (int t = 1; t <= threads; ++t) {
    X86Registers r;
    r.rax = 0x1000 + t;
    r.rip = kTextBase + 0x100 * t;
    r.rsp = kDataBase + kDataBytes - 0x100 * t;
    r.eflags = 0x246;
    r.cs = 0x10;
    r.ss = 0x18;
    r.gs_base = 0xffff8880'07a00000 + 0x10000 * t;
    r.cr0 = paging.cr0 | 0x80050033;
    r.cr3 = paging.cr3;
    r.cr4 = paging.cr4 | 0x6f0;
    r.efer = paging.efer | 0x801;  // and SCE, NXE
    target->regs_.push_back(r);
  }
  target->initial_regs_ = target->regs_;
  return target;
}

void FakeDebugTarget::SetStopSink(StopSink* sink) {
  absl::MutexLock lock(&sink_mu_);
  sink_ = sink;
}

void FakeDebugTarget::ReportStop(const StopEvent& event) {
  absl::MutexLock lock(&sink_mu_);
  if (sink_ != nullptr) sink_->OnStop(event);
}

absl::Status FakeDebugTarget::Failure(const std::string& method) const {
  auto it = failures_.find(method);
  return it == failures_.end() ? absl::OkStatus() : it->second;
}

absl::Status FakeDebugTarget::CheckThread(int thread) const {
  if (thread < 1 || thread > thread_count_) {
    return absl::InvalidArgumentError(
        absl::StrFormat("fake: no thread %d", thread));
  }
  return absl::OkStatus();
}

absl::Status FakeDebugTarget::Attach() {
  absl::MutexLock lock(&mu_);
  ++attaches_;
  return Failure("Attach");
}

absl::StatusOr<X86Registers> FakeDebugTarget::ReadRegisters(int thread) {
  absl::MutexLock lock(&mu_);
  absl::Status s = Failure("ReadRegisters");
  if (s.ok()) s = CheckThread(thread);
  if (!s.ok()) return s;
  return regs_[thread - 1];
}

absl::Status FakeDebugTarget::WriteRegisters(int thread,
                                             const X86Registers& regs) {
  absl::MutexLock lock(&mu_);
  absl::Status s = Failure("WriteRegisters");
  if (s.ok()) s = CheckThread(thread);
  if (!s.ok()) return s;
  regs_[thread - 1] = regs;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> FakeDebugTarget::ReadMemory(int thread,
                                                                 uint64_t vaddr,
                                                                 size_t len) {
  absl::MutexLock lock(&mu_);
  absl::Status s = Failure("ReadMemory");
  if (s.ok()) s = CheckThread(thread);
  if (!s.ok()) return s;
  std::vector<uint8_t> out(len);
  s = ReadGva(*memory_, Paging(regs_[thread - 1]), vaddr, absl::MakeSpan(out));
  if (!s.ok()) return s;
  return out;
}

absl::Status FakeDebugTarget::WriteMemory(int thread, uint64_t vaddr,
                                          absl::Span<const uint8_t> data) {
  absl::MutexLock lock(&mu_);
  absl::Status s = Failure("WriteMemory");
  if (s.ok()) s = CheckThread(thread);
  if (!s.ok()) return s;
  s = WriteGva(*memory_, Paging(regs_[thread - 1]), vaddr, data);
  if (s.ok()) ++memory_writes_;
  return s;
}

absl::Status FakeDebugTarget::InsertBreakpoint(BreakpointType type,
                                               uint64_t addr, uint64_t kind) {
  absl::MutexLock lock(&mu_);
  if (unsupported_.count(type)) {
    return absl::UnimplementedError("fake: breakpoint type not supported");
  }
  absl::Status s = Failure("InsertBreakpoint");
  if (!s.ok()) return s;
  breakpoints_.insert({type, addr, kind});
  return absl::OkStatus();
}

absl::Status FakeDebugTarget::RemoveBreakpoint(BreakpointType type,
                                               uint64_t addr, uint64_t kind) {
  absl::MutexLock lock(&mu_);
  if (unsupported_.count(type)) {
    return absl::UnimplementedError("fake: breakpoint type not supported");
  }
  absl::Status s = Failure("RemoveBreakpoint");
  if (!s.ok()) return s;
  if (breakpoints_.erase({type, addr, kind}) == 0) {
    return absl::NotFoundError("fake: no such breakpoint");
  }
  return absl::OkStatus();
}

absl::Status FakeDebugTarget::Resume(absl::Span<const ResumeAction> actions) {
  {
    absl::MutexLock lock(&mu_);
    absl::Status s = Failure("Resume");
    if (!s.ok()) return s;
    if (actions.size() != static_cast<size_t>(thread_count_)) {
      return absl::InvalidArgumentError("fake: one action per thread needed");
    }
    resumes_.emplace_back(actions.begin(), actions.end());
  }
  if (on_resume) on_resume(actions);
  return absl::OkStatus();
}

absl::Status FakeDebugTarget::Interrupt() {
  bool stop;
  {
    absl::MutexLock lock(&mu_);
    ++interrupts_;
    absl::Status s = Failure("Interrupt");
    if (!s.ok()) return s;
    stop = interrupt_stops_;
  }
  if (stop) ReportStop(StopEvent::Interrupted(1));
  return absl::OkStatus();
}

absl::Status FakeDebugTarget::Detach() {
  absl::MutexLock lock(&mu_);
  ++detaches_;
  absl::Status s = Failure("Detach");
  if (s.ok()) breakpoints_.clear();
  return s;
}

absl::Status FakeDebugTarget::Kill() {
  absl::MutexLock lock(&mu_);
  ++kills_;
  return Failure("Kill");
}

void FakeDebugTarget::Fail(const std::string& method, absl::Status status) {
  absl::MutexLock lock(&mu_);
  if (status.ok()) {
    failures_.erase(method);
  } else {
    failures_[method] = std::move(status);
  }
}

void FakeDebugTarget::set_unsupported(std::set<BreakpointType> types) {
  absl::MutexLock lock(&mu_);
  unsupported_ = std::move(types);
}

void FakeDebugTarget::set_interrupt_stops(bool on) {
  absl::MutexLock lock(&mu_);
  interrupt_stops_ = on;
}

std::set<FakeDebugTarget::Breakpoint> FakeDebugTarget::breakpoints() const {
  absl::MutexLock lock(&mu_);
  return breakpoints_;
}

std::vector<std::vector<ResumeAction>> FakeDebugTarget::resumes() const {
  absl::MutexLock lock(&mu_);
  return resumes_;
}

int FakeDebugTarget::attaches() const {
  absl::MutexLock lock(&mu_);
  return attaches_;
}

int FakeDebugTarget::detaches() const {
  absl::MutexLock lock(&mu_);
  return detaches_;
}

int FakeDebugTarget::kills() const {
  absl::MutexLock lock(&mu_);
  return kills_;
}

int FakeDebugTarget::interrupts() const {
  absl::MutexLock lock(&mu_);
  return interrupts_;
}

uint64_t FakeDebugTarget::memory_writes() const {
  absl::MutexLock lock(&mu_);
  return memory_writes_;
}

void FakeDebugTarget::Reset() {
  on_resume = nullptr;
  absl::MutexLock lock(&mu_);
  regs_ = initial_regs_;
  failures_.clear();
  unsupported_.clear();
  interrupt_stops_ = true;
  breakpoints_.clear();
  resumes_.clear();
  attaches_ = detaches_ = kills_ = interrupts_ = 0;
}

void FakeDebugTarget::SetRegisters(int thread, const X86Registers& regs) {
  absl::MutexLock lock(&mu_);
  regs_[thread - 1] = regs;
}

}  // namespace kuml
