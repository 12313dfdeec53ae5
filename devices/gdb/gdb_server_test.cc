#include "devices/gdb/gdb_server.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "devices/gdb/hex.h"
#include "devices/gdb/register_layout.h"
#include "devices/gdb/rsp_packet.h"
#include "devices/gdb/target_description.h"
#include "devices/gdb/testing/fake_debug_target.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
constexpr ResumeAction kC = ResumeAction::kContinue;
constexpr ResumeAction kS = ResumeAction::kStep;
constexpr ResumeAction kT = ResumeAction::kStop;
constexpr uint64_t kText = FakeDebugTarget::kTextBase;
constexpr uint64_t kData = FakeDebugTarget::kDataBase;

class GdbServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto target = FakeDebugTarget::Create(3);
    ASSERT_TRUE(target.ok()) << target.status();
    target_ = std::move(*target);
    server_ = std::make_unique<GdbServer>(
        target_.get(),
        [this](absl::string_view b) { absl::StrAppend(&wire_, b); },
        [this] { ++wakeups_; });
    ASSERT_TRUE(server_->Connect().ok());
  }

  // Feeds raw bytes.
  void Send(absl::string_view bytes) { server_->Receive(bytes); }

  // The packets the server sent since the last call (acks dropped, counted).
  std::vector<std::string> Replies() {
    RspDecoder client;
    client.set_no_ack_mode(true);
    std::vector<RspEvent> events;
    std::string ignored;
    acks_ = 0;
    bool in_packet = false;
    for (char c : wire_) {  // '+' outside packets
      if (c == '$') in_packet = true;
      if (c == '#') in_packet = false;
      if (c == '+' && !in_packet) ++acks_;
    }
    client.Feed(wire_, &events, &ignored);
    wire_.clear();
    std::vector<std::string> out;
    for (const RspEvent& e : events) {
      EXPECT_EQ(e.type, RspEvent::Type::kPacket);
      out.push_back(e.data);
    }
    return out;
  }

  // Sends `packet`; its one reply.
  std::string Ask(absl::string_view packet) {
    Send(EncodeRspPacket(packet));
    std::vector<std::string> replies = Replies();
    EXPECT_EQ(replies.size(), 1u) << packet;
    return replies.empty() ? "<none>" : replies[0];
  }

  // Sends `packet`, expecting no reply (a resume with no stop yet).
  void AskNoReply(absl::string_view packet) {
    Send(EncodeRspPacket(packet));
    EXPECT_THAT(Replies(), ElementsAre()) << packet;
  }

  X86Registers Regs(int thread) { return *target_->ReadRegisters(thread); }

  std::unique_ptr<FakeDebugTarget> target_;
  std::unique_ptr<GdbServer> server_;
  std::string wire_;
  int acks_ = 0;
  int wakeups_ = 0;
};

TEST_F(GdbServerTest, ConnectAttaches) {
  EXPECT_EQ(target_->attaches(), 1);
  EXPECT_TRUE(server_->connected());
  EXPECT_FALSE(server_->Connect().ok());  // one debugger at a time
}

TEST_F(GdbServerTest, QSupported) {
  const std::string reply =
      Ask("qSupported:multiprocess+;swbreak+;hwbreak+;vContSupported+");
  EXPECT_EQ(acks_, 1);
  for (const char* f :
       {"PacketSize=10000", "QStartNoAckMode+", "qXfer:features:read+",
        "vContSupported+", "swbreak+", "hwbreak+"}) {
    EXPECT_THAT(reply, HasSubstr(f));
  }
  EXPECT_THAT(reply, Not(HasSubstr("multiprocess")));
}

TEST_F(GdbServerTest, NoAckMode) {
  EXPECT_EQ(Ask("QStartNoAckMode"), "OK");
  EXPECT_EQ(acks_, 1);  // the request itself is still acknowledged
  Send("+");            // gdb's ack of our OK
  EXPECT_EQ(Ask("?"), "T05thread:1;");
  EXPECT_EQ(acks_, 0);
}

TEST_F(GdbServerTest, NackResendsTheLastPacket) {
  EXPECT_EQ(Ask("qC"), "QC1");
  Send("-");
  EXPECT_THAT(Replies(), ElementsAre("QC1"));
}

TEST_F(GdbServerTest, BadChecksumIsNacked) {
  Send("$qC#00");
  EXPECT_EQ(wire_, "-");
  wire_.clear();
}

TEST_F(GdbServerTest, UnknownPacketsGetTheEmptyReply) {
  EXPECT_EQ(Ask("vMustReplyEmpty"), "");
  EXPECT_EQ(Ask("qTStatus"), "");
  EXPECT_EQ(Ask("!"), "");
  EXPECT_EQ(Ask("vKill;1"), "");
  EXPECT_EQ(Ask("qXfer:exec-file:read::0,100"), "");
  EXPECT_EQ(Ask(""), "");
}

TEST_F(GdbServerTest, TargetXmlInChunks) {
  const std::string& xml = X86TargetDescriptionXml();
  std::string got;
  for (uint64_t off = 0;;) {
    std::string reply =
        Ask(absl::StrCat("qXfer:features:read:target.xml:", HexNumber(off), ",",
                         HexNumber(1000)));
    ASSERT_FALSE(reply.empty());
    got += reply.substr(1);
    off += reply.size() - 1;
    if (reply[0] == 'l') break;
    ASSERT_EQ(reply[0], 'm');
  }
  EXPECT_EQ(got, xml);
  EXPECT_EQ(Ask(absl::StrCat("qXfer:features:read:target.xml:",
                             HexNumber(xml.size() + 5), ",10")),
            "l");
  EXPECT_EQ(Ask("qXfer:features:read:other.xml:0,10"), "E00");
  EXPECT_EQ(Ask("qXfer:features:read:target.xml:zz"), "E00");
}

TEST_F(GdbServerTest, StopQueryAfterAttach) {
  EXPECT_EQ(Ask("?"), "T05thread:1;");
}

TEST_F(GdbServerTest, ThreadQueries) {
  EXPECT_EQ(Ask("qfThreadInfo"), "m1,2,3");
  EXPECT_EQ(Ask("qsThreadInfo"), "l");
  EXPECT_EQ(Ask("qC"), "QC1");
  EXPECT_EQ(Ask("T2"), "OK");
  EXPECT_EQ(Ask("T4"), "E03");
  EXPECT_EQ(Ask("T0"), "E03");
  EXPECT_EQ(Ask("Tx"), "E16");
  EXPECT_EQ(Ask("qAttached"), "1");
  EXPECT_EQ(Ask("qAttached:1"), "1");
  EXPECT_EQ(Ask("qThreadExtraInfo,2"), HexEncode("vCPU 1"));
  EXPECT_EQ(Ask("qThreadExtraInfo,9"), "E03");
}

TEST_F(GdbServerTest, ReadAllRegisters) {
  const std::string g = Ask("g");
  EXPECT_EQ(g, HexEncode(EncodeGdbRegisters(Regs(1))));
  EXPECT_EQ(g.size(), 2 * GdbRegisterBytes());
  // rip is register 16, at byte 128.
  EXPECT_EQ(g.substr(2 * 128, 16), "00010081ffffffff");
}

TEST_F(GdbServerTest, WriteAllRegisters) {
  X86Registers r = Regs(2);
  r.rbx = 0x5555;
  r.cr2 = 0xdead;
  EXPECT_EQ(Ask("Hg2"), "OK");
  EXPECT_EQ(Ask("G" + HexEncode(EncodeGdbRegisters(r))), "OK");
  EXPECT_EQ(Regs(2).rbx, 0x5555u);
  EXPECT_EQ(Regs(2).cr2, 0xdeadu);
  EXPECT_EQ(Regs(1).rbx, 0u);
  EXPECT_EQ(Ask("G00"), "E16");  // too short
  EXPECT_EQ(Ask("Gzz"), "E16");  // not hex
  EXPECT_EQ(Ask("G0"), "E16");   // odd
}

TEST_F(GdbServerTest, OneRegister) {
  EXPECT_EQ(Ask("p10"), "00010081ffffffff");  // rip
  EXPECT_EQ(Ask("p11"), "46020000");          // eflags, 32 bits
  EXPECT_EQ(Ask("P0=efbeadde00000000"), "OK");
  EXPECT_EQ(Regs(1).rax, 0xdeadbeefu);
  EXPECT_EQ(Ask("P3e=0010000000000000"), "OK");  // cr3 is 62
  EXPECT_EQ(Regs(1).cr3, 0x1000u);
  EXPECT_EQ(Ask("p42"), "E16");      // 66: no such register
  EXPECT_EQ(Ask("P0=1234"), "E16");  // wrong size
  EXPECT_EQ(Ask("P42=00"), "E16");
  EXPECT_EQ(Ask("pxyz"), "E16");
  EXPECT_EQ(Ask("P=00"), "E16");
}

TEST_F(GdbServerTest, ReadMemory) {
  EXPECT_EQ(Ask(absl::StrCat("m", HexNumber(kText + 0x10), ",4")), "10111213");
  EXPECT_EQ(Ask(absl::StrCat("m", HexNumber(kData), ",8")), "0000efbe0000adde");
  // Across the end of the mapping, unmapped, non-canonical: errors.
  EXPECT_EQ(Ask(absl::StrCat("m", HexNumber(kText + 0x3ffe), ",4")), "E0e");
  EXPECT_EQ(Ask("m0,4"), "E0e");
  EXPECT_EQ(Ask("m800000000000,4"), "E0e");
  EXPECT_EQ(Ask("mffffffffffffffff,10"), "E0e");
  EXPECT_EQ(Ask("m1000"), "E16");
  EXPECT_EQ(Ask(absl::StrCat("m", HexNumber(kText), ",0")), "E16");
  EXPECT_THAT(server_->last_error(), Not(HasSubstr("0xffffffffffffffff")));
}

TEST_F(GdbServerTest, HugeReadIsCut) {
  const std::string reply =
      Ask(absl::StrCat("m", HexNumber(kData), ",ffffffffffffffff"));
  // 8 KiB mapped; the read is cut to half the packet size and fails as a
  // whole, or succeeds shorter: never a 2^64-byte allocation.
  EXPECT_EQ(reply, "E0e");
  const std::string ok = Ask(absl::StrCat("m", HexNumber(kText), ",10000"));
  EXPECT_EQ(ok, "E0e");  // 32 KiB > the 16 KiB mapped
  EXPECT_EQ(Ask(absl::StrCat("m", HexNumber(kText), ",4000")).size(),
            2u * 0x4000);
}

TEST_F(GdbServerTest, MemoryIsReadThroughTheSelectedThreadsPaging) {
  X86Registers r = Regs(2);
  r.cr3 = 0x1ff000;  // an empty page: nothing mapped for thread 2
  target_->SetRegisters(2, r);
  const std::string m = absl::StrCat("m", HexNumber(kText), ",2");
  EXPECT_EQ(Ask(m), "0001");
  EXPECT_EQ(Ask("Hg2"), "OK");
  EXPECT_EQ(Ask(m), "E0e");
  EXPECT_THAT(server_->last_error(), HasSubstr("PML4 entry 511"));
}

TEST_F(GdbServerTest, WriteMemory) {
  EXPECT_EQ(Ask(absl::StrCat("M", HexNumber(kData + 8), ",2:abcd")), "OK");
  EXPECT_EQ(Ask(absl::StrCat("m", HexNumber(kData + 8), ",2")), "abcd");
  // X: binary, with the special bytes escaped by the encoder.
  const std::string data("#$}*\x03", 5);
  EXPECT_EQ(Ask(absl::StrCat("X", HexNumber(kData + 16), ",5:", data)), "OK");
  EXPECT_EQ(Ask(absl::StrCat("m", HexNumber(kData + 16), ",5")),
            HexEncode(data));
  EXPECT_EQ(Ask(absl::StrCat("X", HexNumber(kData), ",0:")), "OK");  // probe
  EXPECT_EQ(Ask("M0,1:00"), "E0e");
  EXPECT_EQ(Ask(absl::StrCat("M", HexNumber(kData), ",2:ab")), "E16");
  EXPECT_EQ(Ask(absl::StrCat("X", HexNumber(kData), ",1:ab")), "E16");
  // A write across into unmapped memory writes nothing.
  EXPECT_EQ(Ask(absl::StrCat("M", HexNumber(kData + 0x1fff), ",2:eeee")),
            "E0e");
  EXPECT_EQ(Ask(absl::StrCat("m", HexNumber(kData + 0x1fff), ",1")), "de");
}

TEST_F(GdbServerTest, Breakpoints) {
  EXPECT_EQ(Ask(absl::StrCat("Z0,", HexNumber(kText + 0x40), ",1")), "OK");
  EXPECT_EQ(Ask(absl::StrCat("Z1,", HexNumber(kText + 0x80), ",1")), "OK");
  EXPECT_EQ(Ask(absl::StrCat("Z2,", HexNumber(kData), ",8")), "OK");
  EXPECT_EQ(Ask(absl::StrCat("Z3,", HexNumber(kData), ",4")), "OK");
  EXPECT_EQ(Ask(absl::StrCat("Z4,", HexNumber(kData), ",1")), "OK");
  EXPECT_EQ(target_->breakpoints().size(), 5u);
  EXPECT_TRUE(target_->breakpoints().count(
      {BreakpointType::kSoftware, kText + 0x40, 1}));
  EXPECT_EQ(Ask(absl::StrCat("z0,", HexNumber(kText + 0x40), ",1")), "OK");
  EXPECT_EQ(Ask(absl::StrCat("z3,", HexNumber(kData), ",4")), "OK");
  EXPECT_EQ(target_->breakpoints().size(), 3u);
  // Removing one that is not there: the target's error.
  EXPECT_EQ(Ask("z0,1234,1"), "E01");
  EXPECT_EQ(Ask("Z5,1234,1"), "E16");
  EXPECT_EQ(Ask("Z0,1234"), "E16");
}

TEST_F(GdbServerTest, UnsupportedBreakpointTypeIsTheEmptyReply) {
  target_->set_unsupported({BreakpointType::kReadWatch});
  EXPECT_EQ(Ask("Z3,1000,4"), "");
  EXPECT_EQ(Ask("z3,1000,4"), "");
  EXPECT_EQ(Ask("Z2,1000,4"), "OK");
  target_->Fail("InsertBreakpoint", absl::ResourceExhaustedError("no DR"));
  EXPECT_EQ(Ask("Z1,1000,1"), "E01");
  EXPECT_THAT(server_->last_error(), HasSubstr("no DR"));
}

TEST_F(GdbServerTest, VContQuery) {
  EXPECT_EQ(Ask("vCont?"), "vCont;c;C;s;S;t");
}

TEST_F(GdbServerTest, ContinueAndBreakpointStop) {
  Ask("qSupported:swbreak+;hwbreak+");
  AskNoReply("vCont;c");
  EXPECT_TRUE(server_->running());
  ASSERT_EQ(target_->resumes().size(), 1u);
  EXPECT_THAT(target_->resumes()[0], ElementsAre(kC, kC, kC));
  target_->ReportStop(StopEvent::Breakpoint(3));
  EXPECT_EQ(wakeups_, 1);
  EXPECT_THAT(Replies(), ElementsAre());  // not before DeliverStops()
  server_->DeliverStops();
  EXPECT_THAT(Replies(), ElementsAre("T05thread:3;swbreak:;"));
  EXPECT_FALSE(server_->running());
  // The stopped thread is now the current and the selected one.
  EXPECT_EQ(Ask("qC"), "QC3");
  EXPECT_EQ(Ask("g"), HexEncode(EncodeGdbRegisters(Regs(3))));
  EXPECT_EQ(Ask("?"), "T05thread:3;swbreak:;");
}

TEST_F(GdbServerTest, WithoutSwbreakSupportTheReasonIsLeftOut) {
  Ask("qSupported:multiprocess+");
  AskNoReply("c");
  target_->ReportStop(StopEvent::Breakpoint(1));
  server_->DeliverStops();
  EXPECT_THAT(Replies(), ElementsAre("T05thread:1;"));
  AskNoReply("c");
  target_->ReportStop(StopEvent::HardwareBreakpoint(2));
  server_->DeliverStops();
  EXPECT_THAT(Replies(), ElementsAre("T05thread:2;"));
}

TEST_F(GdbServerTest, StopDuringResumeIsTheReply) {
  // A target that stops at once, calling OnStop inside Resume().
  target_->on_resume = [this](absl::Span<const ResumeAction>) {
    target_->ReportStop(StopEvent::SingleStep(2));
  };
  EXPECT_EQ(Ask("vCont;s:2"), "T05thread:2;");
  EXPECT_THAT(target_->resumes().back(), ElementsAre(kT, kS, kT));
}

TEST_F(GdbServerTest, VContStepOneContinueOthers) {
  AskNoReply("vCont;s:1;c");
  EXPECT_THAT(target_->resumes().back(), ElementsAre(kS, kC, kC));
}

TEST_F(GdbServerTest, VContOnlyNamedThreads) {
  AskNoReply("vCont;c:2");
  EXPECT_THAT(target_->resumes().back(), ElementsAre(kT, kC, kT));
}

TEST_F(GdbServerTest, VContErrors) {
  EXPECT_EQ(Ask("vCont;c:7"), "E16");
  EXPECT_EQ(Ask("vCont;x"), "E16");
  EXPECT_EQ(Ask("vCont"), "E16");
  EXPECT_TRUE(target_->resumes().empty());
  // Only "stay stopped": nothing runs, the reply comes at once.
  EXPECT_EQ(Ask("vCont;t"), "T00thread:1;");
  EXPECT_TRUE(target_->resumes().empty());
}

TEST_F(GdbServerTest, ResumeFailureIsAnError) {
  target_->Fail("Resume", absl::InternalError("KVM_RUN: no"));
  EXPECT_EQ(Ask("vCont;c"), "E01");
  EXPECT_FALSE(server_->running());
  EXPECT_EQ(Ask("c"), "E01");
}

TEST_F(GdbServerTest, LegacyContinueAndStep) {
  AskNoReply("c");
  EXPECT_THAT(target_->resumes().back(), ElementsAre(kC, kC, kC));
  target_->ReportStop(StopEvent::Interrupted(1));
  server_->DeliverStops();
  Replies();
  // s steps the current thread only.
  AskNoReply("s");
  EXPECT_THAT(target_->resumes().back(), ElementsAre(kS, kT, kT));
  target_->ReportStop(StopEvent::SingleStep(1));
  server_->DeliverStops();
  Replies();
  // Hc names the thread for s, and for c the only one to run.
  EXPECT_EQ(Ask("Hc2"), "OK");
  AskNoReply("s");
  EXPECT_THAT(target_->resumes().back(), ElementsAre(kT, kS, kT));
  target_->ReportStop(StopEvent::SingleStep(2));
  server_->DeliverStops();
  Replies();
  AskNoReply("C05");
  EXPECT_THAT(target_->resumes().back(), ElementsAre(kT, kC, kT));
  target_->ReportStop(StopEvent::Interrupted(2));
  server_->DeliverStops();
  Replies();
  EXPECT_EQ(Ask("Hc-1"), "OK");
  AskNoReply("c");
  EXPECT_THAT(target_->resumes().back(), ElementsAre(kC, kC, kC));
}

TEST_F(GdbServerTest, ResumeAtAnAddressSetsRip) {
  AskNoReply(absl::StrCat("s", HexNumber(kText + 0x44)));
  EXPECT_EQ(Regs(1).rip, kText + 0x44);
  target_->ReportStop(StopEvent::SingleStep(1));
  server_->DeliverStops();
  Replies();
  AskNoReply(absl::StrCat("C00;", HexNumber(kText + 0x48)));
  EXPECT_EQ(Regs(1).rip, kText + 0x48);
  target_->ReportStop(StopEvent::Interrupted(1));
  server_->DeliverStops();
  Replies();
  EXPECT_EQ(Ask("czz"), "E16");
  EXPECT_EQ(Ask("Cxx"), "E16");
}

TEST_F(GdbServerTest, CtrlCWhileRunningInterrupts) {
  target_->set_interrupt_stops(false);
  AskNoReply("vCont;c");
  Send("\x03");
  EXPECT_EQ(target_->interrupts(), 1);
  EXPECT_THAT(Replies(), ElementsAre());
  target_->ReportStop(StopEvent::Interrupted(2));
  server_->DeliverStops();
  EXPECT_THAT(Replies(), ElementsAre("T02thread:2;"));
}

TEST_F(GdbServerTest, CtrlCWithAnImmediateStop) {
  AskNoReply("vCont;c");
  Send("\x03");  // the fake reports the stop from inside Interrupt()
  EXPECT_THAT(Replies(), ElementsAre("T02thread:1;"));
}

TEST_F(GdbServerTest, CtrlCWhileStoppedIsIgnored) {
  Send("\x03");
  EXPECT_EQ(target_->interrupts(), 0);
  EXPECT_EQ(wire_, "");
}

TEST_F(GdbServerTest, PacketsWhileRunningAreRefused) {
  AskNoReply("vCont;c");
  EXPECT_EQ(Ask("g"), "E10");
  EXPECT_EQ(Ask("vCont;c"), "E10");
  EXPECT_EQ(target_->resumes().size(), 1u);
}

TEST_F(GdbServerTest, WatchpointStop) {
  AskNoReply("vCont;c");
  target_->ReportStop(
      StopEvent::Watchpoint(2, kData + 8, BreakpointType::kAccessWatch));
  server_->DeliverStops();
  EXPECT_THAT(Replies(),
              ElementsAre(absl::StrCat("T05awatch:", HexNumber(kData + 8),
                                       ";thread:2;")));
}

TEST_F(GdbServerTest, ExitEndsTheSession) {
  AskNoReply("vCont;c");
  target_->ReportStop(StopEvent::Exited(3));
  server_->DeliverStops();
  EXPECT_THAT(Replies(), ElementsAre("W03"));
  EXPECT_TRUE(server_->session_over());
  server_->Disconnect();
  EXPECT_EQ(target_->detaches(), 0);  // nothing left to detach from
}

TEST_F(GdbServerTest, ExitWhileStoppedAnswersTheNextResume) {
  target_->ReportStop(StopEvent::Exited(0));
  server_->DeliverStops();
  EXPECT_EQ(server_->dropped_stops(), 1u);
  EXPECT_EQ(Ask("vCont;c"), "W00");
  EXPECT_TRUE(target_->resumes().empty());
  EXPECT_TRUE(server_->session_over());
}

TEST_F(GdbServerTest, StopWhileStoppedIsDropped) {
  target_->ReportStop(StopEvent::Breakpoint(2));
  server_->DeliverStops();
  EXPECT_EQ(wire_, "");
  EXPECT_EQ(server_->dropped_stops(), 1u);
  EXPECT_EQ(Ask("qC"), "QC1");
}

TEST_F(GdbServerTest, StaleStopIsNotTheAnswerToTheNextResume) {
  target_->ReportStop(StopEvent::Breakpoint(2));  // queued, not delivered
  AskNoReply("vCont;c");
  EXPECT_TRUE(server_->running());
  EXPECT_EQ(server_->dropped_stops(), 1u);
}

TEST_F(GdbServerTest, StopFromAnotherThread) {
  AskNoReply("vCont;c");
  std::thread vcpu([this] { target_->ReportStop(StopEvent::Breakpoint(2)); });
  vcpu.join();
  EXPECT_EQ(wakeups_, 1);
  server_->DeliverStops();
  EXPECT_THAT(Replies(), ElementsAre("T05thread:2;"));
}

TEST_F(GdbServerTest, ThreadSelection) {
  // Hg0 / Hg-1: the current thread.
  EXPECT_EQ(Ask("Hg2"), "OK");
  EXPECT_EQ(Ask("p0"), "0210000000000000");  // thread 2's rax
  EXPECT_EQ(Ask("Hg0"), "OK");
  EXPECT_EQ(Ask("p0"), "0110000000000000");
  EXPECT_EQ(Ask("Hg3"), "OK");
  EXPECT_EQ(Ask("Hg-1"), "OK");
  EXPECT_EQ(Ask("p0"), "0110000000000000");
  EXPECT_EQ(Ask("Hg4"), "E03");
  EXPECT_EQ(Ask("Hc4"), "E03");
  EXPECT_EQ(Ask("Hgp1.1"), "E16");
  EXPECT_EQ(Ask("Hx1"), "E16");
  EXPECT_EQ(Ask("H"), "E16");
  EXPECT_EQ(Ask("Hc0"), "OK");
}

TEST_F(GdbServerTest, RegisterReadFailure) {
  target_->Fail("ReadRegisters", absl::InternalError("KVM_GET_REGS: EIO"));
  EXPECT_EQ(Ask("g"), "E01");
  EXPECT_EQ(Ask("p0"), "E01");
  EXPECT_THAT(server_->last_error(), HasSubstr("KVM_GET_REGS"));
}

TEST_F(GdbServerTest, Detach) {
  Ask("Z0,1000,1");
  EXPECT_EQ(Ask("D"), "OK");
  EXPECT_EQ(target_->detaches(), 1);
  EXPECT_TRUE(target_->breakpoints().empty());
  EXPECT_TRUE(server_->session_over());
  // Further bytes are ignored; the disconnect does not detach again.
  Send(EncodeRspPacket("g"));
  EXPECT_EQ(wire_, "");
  server_->Disconnect();
  EXPECT_EQ(target_->detaches(), 1);
}

TEST_F(GdbServerTest, DetachFailureKeepsTheSession) {
  target_->Fail("Detach", absl::InternalError("no"));
  EXPECT_EQ(Ask("D;1"), "E01");
  EXPECT_FALSE(server_->session_over());
}

TEST_F(GdbServerTest, Kill) {
  Send(EncodeRspPacket("k"));
  EXPECT_EQ(wire_, "+");  // acknowledged, never answered
  EXPECT_EQ(target_->kills(), 1);
  EXPECT_TRUE(server_->session_over());
  server_->Disconnect();
  EXPECT_EQ(target_->detaches(), 0);
}

TEST_F(GdbServerTest, DroppedConnectionDetaches) {
  AskNoReply("vCont;c");
  server_->Disconnect();
  EXPECT_EQ(target_->detaches(), 1);
  EXPECT_FALSE(server_->connected());
  // A late stop goes nowhere; the next debugger starts afresh.
  target_->ReportStop(StopEvent::Breakpoint(1));
  server_->DeliverStops();
  EXPECT_EQ(wire_, "");
  ASSERT_TRUE(server_->Connect().ok());
  EXPECT_EQ(target_->attaches(), 2);
  EXPECT_EQ(Ask("?"), "T05thread:1;");
  EXPECT_EQ(acks_, 1);  // back in ack mode
}

TEST_F(GdbServerTest, AttachFailure) {
  server_->Disconnect();
  target_->Fail("Attach", absl::InternalError("cannot pause"));
  EXPECT_FALSE(server_->Connect().ok());
  EXPECT_FALSE(server_->connected());
  Send(EncodeRspPacket("g"));
  EXPECT_EQ(wire_, "");
}

TEST_F(GdbServerTest, OversizedAndMalformedPackets) {
  const std::string big(kRspMaxPacketSize + 1, 'a');
  EXPECT_EQ(Ask(big), "E07");
  // Built by hand: the encoder would escape these.
  for (std::string bad : {"a}", "*a"}) {
    Send(absl::StrCat(
        "$", bad, "#",
        HexEncode(std::string(1, static_cast<char>(RspChecksum(bad))))));
    EXPECT_THAT(Replies(), ElementsAre("E16")) << bad;
  }
  EXPECT_EQ(Ask("qC"), "QC1");  // and the session goes on
}

TEST_F(GdbServerTest, SeveralPacketsInOneChunk) {
  Send(EncodeRspPacket("qC") + EncodeRspPacket("QStartNoAckMode") +
       EncodeRspPacket("qfThreadInfo"));
  EXPECT_THAT(Replies(), ElementsAre("QC1", "OK", "m1,2,3"));
  EXPECT_EQ(acks_, 2);  // none for the packet after QStartNoAckMode
}

}  // namespace
}  // namespace kuml
