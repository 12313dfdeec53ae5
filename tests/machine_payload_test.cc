// The real VMM on a real KVM, driven by tiny guest programs
// (tests/payloads): console output, power-off, reset, triple fault,
// emulation failures, and virtio-blk reads, writes and hostile requests.
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/payload_runner.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;

std::string TempFile(const std::string& name, const std::string& sector0,
                     size_t size = 1 << 20) {
  std::string path = testing::TempDir() + "/" + name;
  std::string data(size, '\0');
  data.replace(0, sector0.size(), sector0);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
  return path;
}

std::string ReadSector(const std::string& path, int sector) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(sector * 512);
  std::string s(512, '\0');
  in.read(&s[0], 512);
  return s;
}

TEST(MachinePayloadTest, HelloPrintsAndPowersOff) {
  auto run = RunPayload("hello");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->console, "kuml payload: hello\n");
  EXPECT_EQ(run->stop.reason, StopReason::kPowerOff) << run->stop.detail;
}

TEST(MachinePayloadTest, KeyboardControllerResetStopsWithReset) {
  auto run = RunPayload("reset");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->console, "kuml payload: resetting\n");
  EXPECT_EQ(run->stop.reason, StopReason::kReset) << run->stop.detail;
}

TEST(MachinePayloadTest, TripleFaultIsReported) {
  auto run = RunPayload("triple_fault");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->stop.reason, StopReason::kTripleFault) << run->stop.detail;
}

TEST(MachinePayloadTest, UnemulatableInstructionStopsWithRipAndBytes) {
  auto run = RunPayload("mmio_exec");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->console, "kuml payload: executing from MMIO\n");
  EXPECT_EQ(run->stop.reason, StopReason::kError);
  EXPECT_THAT(run->stop.detail, HasSubstr("could not emulate"));
  EXPECT_THAT(run->stop.detail, HasSubstr("0xd0008000"));
}

TEST(MachinePayloadTest, VirtioBlkReadsWritesFlushesAndReportsSerial) {
  std::string disk = TempFile("rw.img", "hello from sector zero\nmore");
  auto run = RunPayload("blk_rw", {{disk, false, "KUML-SER-0001"}});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->stop.reason, StopReason::kPowerOff) << run->stop.detail;
  EXPECT_THAT(run->console, HasSubstr("blk: capacity 2048 sectors\n"));
  EXPECT_THAT(
      run->console,
      HasSubstr("blk: read status 0 sector0: hello from sector zero\n"));
  EXPECT_THAT(run->console, HasSubstr("blk: write status 0\n"));
  EXPECT_THAT(run->console, HasSubstr("blk: flush status 0\n"));
  EXPECT_THAT(run->console, HasSubstr("blk: readback ok\n"));
  EXPECT_THAT(run->console, HasSubstr("blk: serial KUML-SER-0001\n"));
  EXPECT_THAT(run->console, HasSubstr("blk: read past end status 1\n"));
  // The write reached the host file.
  EXPECT_EQ(ReadSector(disk, 1).substr(0, 28), "kuml payload wrote sector 1\n");
}

TEST(MachinePayloadTest, ReadOnlyDiskRefusesWritesAndStaysUnchanged) {
  std::string disk = TempFile("ro.img", "read only contents");
  auto run = RunPayload("blk_readonly", {{disk, true, ""}});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_THAT(run->console, HasSubstr("blk: ro feature\n"));
  EXPECT_THAT(run->console, HasSubstr("blk: read status 0\n"));
  EXPECT_THAT(run->console, HasSubstr("blk: write status 1\n"));
  EXPECT_EQ(ReadSector(disk, 0).substr(0, 18), "read only contents");
}

TEST(MachinePayloadTest, HostileDescriptorsDoNotHurtTheVmm) {
  std::string disk = TempFile("hostile.img", "sector zero");
  auto run = RunPayload("blk_hostile", {{disk, false, ""}});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->stop.reason, StopReason::kPowerOff) << run->stop.detail;
  // Each malformed chain is returned with nothing written (used length 0,
  // status untouched), and the device goes on serving.
  EXPECT_THAT(run->console,
              HasSubstr("blk: outside-ram used_len 0 status 255"));
  EXPECT_THAT(run->console, HasSubstr("blk: loop used_len 0 status 255"));
  EXPECT_THAT(run->console, HasSubstr("blk: bad-next used_len 0 status 255"));
  EXPECT_THAT(run->console, HasSubstr("blk: huge-len used_len 0 status 255"));
  EXPECT_THAT(run->console, HasSubstr("blk: still works\n"));
  EXPECT_EQ(ReadSector(disk, 0).substr(0, 11), "sector zero");
}

TEST(MachinePayloadTest, MissingDiskFileIsAClearError) {
  auto run = RunPayload("hello", {{"/nonexistent/disk.img", false, ""}});
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(run.status().message(), HasSubstr("/nonexistent/disk.img"));
}

TEST(MachinePayloadTest, PortIoExitsAreCountedAndFast) {
  auto run = RunPayload("exits");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->stop.reason, StopReason::kPowerOff) << run->stop.detail;
  EXPECT_GE(run->exits, 20000u);
  // A figure for the log, not an assertion: see bench/ for the comparison.
  std::cout << "exits: " << run->exits << " in " << run->seconds << " s\n";
}

}  // namespace
}  // namespace kuml
