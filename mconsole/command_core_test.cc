#include "mconsole/command_core.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mconsole/fake_guest_control.h"

namespace kuml::mconsole {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class CommandCoreTest : public ::testing::Test {
 protected:
  Reply Run(absl::string_view text) {
    Outcome o = core_.Execute(text);
    o.Finish();
    return o.reply;
  }
  FakeGuestControl control_;
  CommandCore core_{&control_};
};

TEST_F(CommandCoreTest, VersionInUmlFormat) {
  Reply r = Run("version");
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.text,
            "Linux (none) 6.1.0 #1 SMP Sat Jul  4 15:38:16 UTC 2026 x86_64");
}

TEST_F(CommandCoreTest, PrefixMatchingAsUml) {
  EXPECT_EQ(Run("versionXYZ").err, 0);  // strncmp with the name's length
  EXPECT_EQ(Run("helpme").text, HelpText());
  Reply r = Run("vers");
  EXPECT_EQ(r.err, 1);
  EXPECT_EQ(r.text, "Unknown command");
  EXPECT_EQ(Run("bogus").text, "Unknown command");
  EXPECT_EQ(Run("").text, "Unknown command");
  EXPECT_EQ(Run(" version").text, "Unknown command");
}

TEST_F(CommandCoreTest, TableOrderDecidesOverlaps) {
  EXPECT_EQ(MatchCommand("stack 1"), Command::kStack);
  EXPECT_EQ(MatchCommand("stop"), Command::kStop);
  EXPECT_EQ(MatchCommand("go"), Command::kGo);
  EXPECT_EQ(MatchCommand("goal"), Command::kGo);
  EXPECT_EQ(MatchCommand("cad"), Command::kCad);
  EXPECT_EQ(MatchCommand("ca"), std::nullopt);
}

TEST_F(CommandCoreTest, HelpTextIsUmlsVerbatim) {
  Reply r = Run("help");
  EXPECT_EQ(r.err, 0);
  // 722 characters: 511 + 211 in two packets (724 bytes with the NULs).
  EXPECT_EQ(r.text.size(), 722u);
  EXPECT_EQ(r.text.substr(0, 11), "Commands: \n");
  EXPECT_NE(r.text.find("\tsame syntax as command line \n"), std::string::npos);
}

TEST_F(CommandCoreTest, HaltAndRebootActAfterTheReply) {
  Outcome o = core_.Execute("halt");
  EXPECT_EQ(o.reply.err, 0);
  EXPECT_EQ(o.reply.text, "");
  EXPECT_THAT(control_.calls(), IsEmpty());
  o.Finish();
  EXPECT_THAT(control_.calls(), ElementsAre("halt"));
  Run("reboot");
  EXPECT_THAT(control_.calls(), ElementsAre("halt", "reboot"));
}

TEST_F(CommandCoreTest, StopGoReplies) {
  EXPECT_EQ(Run("go").text, "Not stopped");
  EXPECT_EQ(Run("go").err, 1);
  Reply r = Run("stop");
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.text, "stopped");
  r = Run("stop");
  EXPECT_EQ(r.err, 1);
  EXPECT_EQ(r.text, "Already stopped");
  // Other commands keep working while stopped.
  EXPECT_EQ(Run("version").err, 0);
  r = Run("go");
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.text, "");
  EXPECT_FALSE(control_.stopped());
}

TEST_F(CommandCoreTest, ConfigParsing) {
  EXPECT_EQ(Run("config foo").text, "Bad configuration option");
  EXPECT_EQ(Run("config").text, "Bad configuration option");
  EXPECT_EQ(Run("config ubd0").text, "root_fs");
  EXPECT_EQ(Run("config   ubd1").text, "");
  EXPECT_EQ(Run("config ubd1=/srv/hot.img").err, 0);
  EXPECT_EQ(Run("config ubd1").text, "/srv/hot.img");
  Reply r = Run("config ubd1=/x");
  EXPECT_EQ(r.err, -EBUSY);
  EXPECT_EQ(static_cast<uint8_t>(r.err), 240);  // uml_mconsole's exit status
  EXPECT_EQ(r.text, "Device is already configured");
  EXPECT_EQ(Run("config eth0").text, "No get_config routine defined");
  EXPECT_THAT(control_.calls(),
              ElementsAre("config-query 0", "config-query 1",
                          "config-add ubd1=/srv/hot.img", "config-query 1",
                          "config-add ubd1=/x", "config-query 0"));
}

TEST_F(CommandCoreTest, RemoveParsingAndRanges) {
  EXPECT_EQ(Run("remove foo").text, "Bad remove option");
  EXPECT_EQ(Run("remove ubd99").text,
            "Invalid device number - must be between 0 and 15");
  EXPECT_EQ(Run("remove ssl64").text,
            "Invalid device number - must be between 0 and 63");
  EXPECT_EQ(Run("remove ubd").text, "Couldn't parse device number");
  EXPECT_EQ(Run("remove con1x").text, "Couldn't parse device number");
  EXPECT_EQ(Run("remove eth").text, "Couldn't parse device number");
  Reply r = Run("remove ubd0");
  EXPECT_EQ(r.err, -EBUSY);
  EXPECT_EQ(r.text, "Device is currently open");
  r = Run("remove ubd7");
  EXPECT_EQ(r.err, -ENODEV);
  EXPECT_EQ(static_cast<uint32_t>(r.err), 0xffffffedu);
  EXPECT_EQ(r.text, "Device doesn't exist");
  // ubd units may be letters, as on UML's command line.
  Run("config ubd2=/d");
  EXPECT_EQ(Run("remove ubdc").err, 0);
  EXPECT_EQ(Run("remove ubd0x10").text,
            "Invalid device number - must be between 0 and 15");
}

TEST_F(CommandCoreTest, SysrqReturnsKernelOutput) {
  Reply r = Run("sysrq s");
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.text, "sysrq: Emergency Sync\n");
  Run("sysrq");  // no letter: the kernel's help line
  Outcome b = core_.Execute("sysrq b");
  EXPECT_EQ(b.reply.text, "");
  EXPECT_THAT(control_.calls(),
              ElementsAre("sysrq s", std::string("sysrq ") + '\0'));
  b.Finish();  // 'b' acts after the reply: the guest reboots at once
  EXPECT_EQ(control_.calls().back(), "sysrq b");
}

TEST_F(CommandCoreTest, ProcStackLogCad) {
  Reply r = Run("proc uptime");
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.text, "\n8.63 7.17\n");  // UML starts the contents on a new line
  EXPECT_EQ(Run("proc nonexistent").text, "Failed to open file");
  EXPECT_EQ(Run("stack").text, "Please specify a pid");
  EXPECT_EQ(Run("stack 0").text, "Couldn't find that pid");
  EXPECT_EQ(Run("stack 99999").text, "Couldn't find that pid");
  EXPECT_EQ(Run("stack 1").err, 0);
  EXPECT_EQ(Run("log hello world").err, 0);
  EXPECT_EQ(Run("log \n").err, 0);
  EXPECT_EQ(Run("cad").err, 0);
  std::vector<std::string> calls = control_.calls();
  EXPECT_THAT(calls,
              ElementsAre("proc uptime", "proc nonexistent", "stack 99999",
                          "stack 1", "log hello world", "log \n", "cad"));
}

}  // namespace
}  // namespace kuml::mconsole
