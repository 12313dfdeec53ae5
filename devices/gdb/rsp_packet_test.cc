#include "devices/gdb/rsp_packet.h"

#include <string>
#include <vector>

#include "devices/gdb/hex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

using Type = RspEvent::Type;

// Everything a decoder made of some bytes.
struct Decoded {
  std::vector<RspEvent> events;
  std::string acks;
};

Decoded Feed(RspDecoder& decoder, absl::string_view bytes) {
  Decoded d;
  decoder.Feed(bytes, &d.events, &d.acks);
  return d;
}

std::vector<std::string> Packets(const Decoded& d) {
  std::vector<std::string> out;
  for (const RspEvent& e : d.events) {
    if (e.type == Type::kPacket) out.push_back(e.data);
  }
  return out;
}

TEST(HexTest, EncodeDecode) {
  const std::vector<uint8_t> bytes = {0x00, 0x7f, 0x80, 0xff, 0x3a};
  EXPECT_EQ(HexEncode(bytes), "007f80ff3a");
  auto back = HexDecode("007F80ff3a");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, bytes);
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
  EXPECT_TRUE(HexDecode("")->empty());
}

TEST(HexTest, Numbers) {
  EXPECT_EQ(*ParseHexNumber("ffffffff81000000"), 0xffffffff81000000u);
  EXPECT_EQ(*ParseHexNumber("0"), 0u);
  EXPECT_FALSE(ParseHexNumber("").ok());
  EXPECT_FALSE(ParseHexNumber("-1").ok());
  EXPECT_FALSE(ParseHexNumber("10000000000000000").ok());  // 17 digits
  EXPECT_FALSE(ParseHexNumber("0x10").ok());
  EXPECT_EQ(HexNumber(0), "0");
  EXPECT_EQ(HexNumber(0x1f), "1f");
}

TEST(RspEncodeTest, ChecksumAndFraming) {
  EXPECT_EQ(EncodeRspPacket("OK"), "$OK#9a");
  EXPECT_EQ(EncodeRspPacket(""), "$#00");
  EXPECT_EQ(RspChecksum("qSupported"), 0x37);
}

TEST(RspEncodeTest, EscapesSpecialBytes) {
  // $ # } * become } followed by the byte xor 0x20.
  EXPECT_EQ(EncodeRspPacket("a$b#c}d*"),
            "$a}\x04"
            "b}\x03"
            "c}]d}\x0a#" +
                HexEncode(std::string(
                    1, static_cast<char>(RspChecksum("a}\x04"
                                                     "b}\x03"
                                                     "c}]d}\x0a")))));
}

TEST(RspDecodeTest, GoodPacketIsAckedAndReported) {
  RspDecoder d;
  Decoded out = Feed(d, "$qSupported#37");
  EXPECT_EQ(out.acks, "+");
  EXPECT_THAT(Packets(out), ::testing::ElementsAre("qSupported"));
}

TEST(RspDecodeTest, ChecksumIsCaseInsensitive) {
  RspDecoder d;
  EXPECT_EQ(Packets(Feed(d, "$OK#9A")).size(), 1u);
}

TEST(RspDecodeTest, BadChecksumIsNackedAndDropped) {
  RspDecoder d;
  Decoded out = Feed(d, "$OK#00$OK#zz$OK#9a");
  EXPECT_EQ(out.acks, "--+");
  EXPECT_THAT(Packets(out), ::testing::ElementsAre("OK"));
}

TEST(RspDecodeTest, NoAckModeSendsNoAcks) {
  RspDecoder d;
  d.set_no_ack_mode(true);
  Decoded out = Feed(d, "$OK#9a$OK#00");
  EXPECT_EQ(out.acks, "");
  // A bad checksum is taken anyway (gdbserver does the same).
  EXPECT_THAT(Packets(out), ::testing::ElementsAre("OK", "OK"));
  d.Reset();
  EXPECT_FALSE(d.no_ack_mode());
}

TEST(RspDecodeTest, SplitAcrossChunks) {
  RspDecoder d;
  const std::string wire =
      "$m1000,4#" + HexEncode(std::string(1, RspChecksum("m1000,4")));
  std::vector<RspEvent> events;
  std::string acks;
  for (char c : wire) d.Feed(std::string(1, c), &events, &acks);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "m1000,4");
  EXPECT_EQ(acks, "+");
}

TEST(RspDecodeTest, NextStopsAfterEachEvent) {
  RspDecoder d;
  const std::string wire = "$OK#9a$OK#9a";
  std::optional<RspEvent> event;
  std::string acks;
  EXPECT_EQ(d.Next(wire, &event, &acks), 6u);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(acks, "+");
  // The caller may switch to no-ack mode before the rest.
  d.set_no_ack_mode(true);
  event.reset();
  acks.clear();
  EXPECT_EQ(d.Next(absl::string_view(wire).substr(6), &event, &acks), 6u);
  EXPECT_TRUE(event.has_value());
  EXPECT_EQ(acks, "");
}

TEST(RspDecodeTest, BinaryEscapes) {
  RspDecoder d;
  d.set_no_ack_mode(true);
  // X packet data with escaped '#', '$', '}', '*' and a raw 0x03.
  Decoded out = Feed(d, "$X0,5:}\x03}\x04}]}\x0a\x03#00");
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].type, Type::kPacket);
  EXPECT_EQ(out.events[0].data, std::string("X0,5:#$}*\x03"));
}

TEST(RspDecodeTest, EscapeAtTheEndIsMalformed) {
  RspDecoder d;
  d.set_no_ack_mode(true);
  Decoded out = Feed(d, "$ab}#00");
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].type, Type::kMalformed);
}

TEST(RspDecodeTest, EncodeDecodeRoundTrip) {
  std::string payload;
  for (int i = 0; i < 256; ++i) payload.push_back(static_cast<char>(i));
  RspDecoder d;
  Decoded out = Feed(d, EncodeRspPacket(payload));
  EXPECT_EQ(out.acks, "+");
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].data, payload);
}

TEST(RspDecodeTest, RunLengthEncoding) {
  RspDecoder d;
  d.set_no_ack_mode(true);
  // "0* " is "0" and 3 more; "x*!" 4 more; a count of 29 ('\x1d') adds none.
  Decoded out = Feed(d, "$0* x*!y*\x1d#00");
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].data, "0000xxxxxy");
}

TEST(RspDecodeTest, BadRunLength) {
  RspDecoder d;
  d.set_no_ack_mode(true);
  for (absl::string_view wire : {"$*  #00", "$a*#00", "$a*\x01#00"}) {
    Decoded out = Feed(d, wire);
    ASSERT_EQ(out.events.size(), 1u) << wire;
    EXPECT_EQ(out.events[0].type, Type::kMalformed) << wire;
  }
}

TEST(RspDecodeTest, InterruptBetweenPackets) {
  RspDecoder d;
  Decoded out = Feed(d, "\x03$c#63\x03");
  ASSERT_EQ(out.events.size(), 3u);
  EXPECT_EQ(out.events[0].type, Type::kInterrupt);
  EXPECT_EQ(out.events[1].type, Type::kPacket);
  EXPECT_EQ(out.events[2].type, Type::kInterrupt);
}

TEST(RspDecodeTest, GarbageBetweenPacketsIsIgnored) {
  RspDecoder d;
  Decoded out = Feed(d, "+++hello\r\n\xff$g#67 junk +");
  EXPECT_THAT(Packets(out), ::testing::ElementsAre("g"));
  EXPECT_EQ(out.events.size(), 1u);
}

TEST(RspDecodeTest, NackIsReported) {
  RspDecoder d;
  Decoded out = Feed(d, "-");
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].type, Type::kNack);
}

TEST(RspDecodeTest, DollarInsideAPacketStartsOver) {
  RspDecoder d;
  Decoded out = Feed(d, "$m10$g#67");
  EXPECT_THAT(Packets(out), ::testing::ElementsAre("g"));
}

TEST(RspDecodeTest, OversizedPacketIsReportedNotKept) {
  RspDecoder d(16);
  const std::string big(1000, 'a');
  Decoded out = Feed(
      d, "$" + big + "#" +
             HexEncode(std::string(1, static_cast<char>(RspChecksum(big)))));
  EXPECT_EQ(out.acks, "+");
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].type, Type::kOversized);
  // The decoder goes on with the next packet.
  out = Feed(d, "$g#67");
  EXPECT_THAT(Packets(out), ::testing::ElementsAre("g"));
  // Exactly the maximum is fine.
  const std::string max(16, 'b');
  out = Feed(d, EncodeRspPacket(max));
  EXPECT_THAT(Packets(out), ::testing::ElementsAre(max));
}

TEST(RspDecodeTest, RunLengthCannotExpandBeyondTheMaximum) {
  RspDecoder d(16);
  d.set_no_ack_mode(true);
  Decoded out = Feed(d, "$a*~a*~#00");  // 2 + 2 * 97 bytes
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].type, Type::kOversized);
}

TEST(RspDecodeTest, InterruptInsideAPacketIsData) {
  RspDecoder d;
  d.set_no_ack_mode(true);
  Decoded out = Feed(d, "$a\x03z#00");
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].data, "a\x03z");
}

}  // namespace
}  // namespace kuml
