#include "mconsole/wire.h"

#include <cstring>

#include "gtest/gtest.h"

namespace kuml::mconsole {
namespace {

absl::Span<const uint8_t> Bytes(const std::string& s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()),
                             s.size());
}

TEST(WireTest, RequestAsUmlMconsoleSendsIt) {
  std::string req = EncodeRequest("version");
  ASSERT_EQ(req.size(), 524u);
  const uint8_t head[] = {0xbe, 0xba, 0xfe, 0xca, 2,   0,   0,   0,   7,   0,
                          0,    0,    'v',  'e',  'r', 's', 'i', 'o', 'n', 0};
  EXPECT_EQ(std::memcmp(req.data(), head, sizeof(head)), 0);
  DecodedRequest d = DecodeRequest(Bytes(req));
  EXPECT_TRUE(d.execute);
  EXPECT_TRUE(d.early_replies.empty());
  EXPECT_EQ(d.command, "version");
}

TEST(WireTest, ShortRequestWithoutPaddingIsFine) {
  std::string req = EncodeRequest("go").substr(0, 14);
  DecodedRequest d = DecodeRequest(Bytes(req));
  EXPECT_TRUE(d.execute);
  EXPECT_EQ(d.command, "go");
}

TEST(WireTest, BadMagicGetsTheRawVersion0Text) {
  std::string req = EncodeRequest("version");
  req[0] = 0;
  DecodedRequest d = DecodeRequest(Bytes(req));
  EXPECT_FALSE(d.execute);
  ASSERT_EQ(d.early_replies.size(), 1u);
  EXPECT_EQ(d.early_replies[0],
            "ERR Version 0 mconsole clients are not supported by this driver");
  EXPECT_EQ(d.early_replies[0].size(), 63u);
  EXPECT_EQ(DecodeRequest(Bytes("ab")).early_replies[0].size(), 63u);
  EXPECT_EQ(DecodeRequest({}).early_replies[0].size(), 63u);
}

TEST(WireTest, TooLargeAndTruncated) {
  std::string req = EncodeRequest("version");
  req[8] = 0;  // len = 512
  req[9] = 2;
  DecodedRequest d = DecodeRequest(Bytes(req));
  EXPECT_FALSE(d.execute);
  ReplyPacket p;
  ASSERT_TRUE(DecodeReply(Bytes(d.early_replies.at(0)), &p));
  EXPECT_EQ(p.err, 1);
  EXPECT_EQ(p.data, "Request too large");

  d = DecodeRequest(Bytes(req.substr(0, 8)));  // header cut short
  ASSERT_TRUE(DecodeReply(Bytes(d.early_replies.at(0)), &p));
  EXPECT_EQ(p.data, "Truncated request");
  EXPECT_FALSE(d.execute);

  req = EncodeRequest("version");
  d = DecodeRequest(Bytes(req.substr(0, 15)));  // len 7, 3 bytes came
  ASSERT_TRUE(DecodeReply(Bytes(d.early_replies.at(0)), &p));
  EXPECT_EQ(p.data, "Truncated request");
}

TEST(WireTest, WrongVersionRepliesAndStillExecutes) {
  DecodedRequest d = DecodeRequest(Bytes(EncodeRequest("version", 1)));
  EXPECT_TRUE(d.execute);
  EXPECT_EQ(d.command, "version");
  ReplyPacket p;
  ASSERT_TRUE(DecodeReply(Bytes(d.early_replies.at(0)), &p));
  EXPECT_EQ(p.err, 1);
  EXPECT_FALSE(p.more);
  EXPECT_EQ(p.data, "This driver only supports version 2 clients");
}

TEST(WireTest, EmbeddedNulEndsTheCommand) {
  std::string req = EncodeRequest(std::string("help\0xyz", 8));
  EXPECT_EQ(DecodeRequest(Bytes(req)).command, "help");
}

TEST(WireTest, ReplyBytesMatchRealUml) {
  std::vector<std::string> p = EncodeReply(0, "");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], std::string("\0\0\0\0\0\0\0\0\1\0\0\0\0", 13));
  p = EncodeReply(-19, "Device doesn't exist");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].substr(0, 12),
            std::string("\xed\xff\xff\xff\0\0\0\0\x15\0\0\0", 12));
  EXPECT_EQ(p[0].size(), 33u);
  p = EncodeReply(1, "Unknown command");
  EXPECT_EQ(p[0],
            std::string("\1\0\0\0\0\0\0\0\x10\0\0\0Unknown command\0", 28));
}

TEST(WireTest, LongRepliesSplitAt511) {
  std::vector<std::string> p = EncodeReply(0, std::string(722, 'h'));
  ASSERT_EQ(p.size(), 2u);
  ReplyPacket a, b;
  ASSERT_TRUE(DecodeReply(Bytes(p[0]), &a));
  ASSERT_TRUE(DecodeReply(Bytes(p[1]), &b));
  EXPECT_TRUE(a.more);
  EXPECT_FALSE(b.more);
  EXPECT_EQ(p[0].size(), 12u + 512u);
  EXPECT_EQ(p[1].size(), 12u + 212u);
  EXPECT_EQ(a.data.size() + b.data.size(), 722u);
  EXPECT_EQ(EncodeReply(0, std::string(511, 'x')).size(), 1u);
  EXPECT_EQ(EncodeReply(0, std::string(1022, 'x')).size(), 2u);
  EXPECT_EQ(EncodeReply(0, std::string(1023, 'x')).size(), 3u);
}

TEST(WireTest, NotifyBytesMatchRealUml) {
  std::string path = "/root/.uml/reftest/mconsole";
  std::string n = EncodeNotify(NotifyType::kSocket, path + '\0');
  EXPECT_EQ(n.size(), 44u);
  EXPECT_EQ(n.substr(0, 16),
            std::string("\xbe\xba\xfe\xca\2\0\0\0\0\0\0\0\x1c\0\0\0", 16));
  EXPECT_EQ(EncodeNotify(NotifyType::kUserNotify, std::string(600, 'u')).size(),
            16u + 512u);
}

TEST(WireTest, DecodeReplyRefusesShortPackets) {
  ReplyPacket p;
  EXPECT_FALSE(DecodeReply(Bytes(std::string(11, '\0')), &p));
  std::string bad = EncodeReply(0, "abc")[0];
  EXPECT_FALSE(DecodeReply(Bytes(bad.substr(0, bad.size() - 1)), &p));
}

}  // namespace
}  // namespace kuml::mconsole
