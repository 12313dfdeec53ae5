#include "mconsole/wire.h"

#include <algorithm>
#include <cstring>

namespace kuml::mconsole {
namespace {

uint32_t LoadU32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 |
         uint32_t{p[3]} << 24;
}

void AppendU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

std::string OnePacket(int32_t err, bool more, absl::string_view chunk) {
  std::string packet;
  packet.reserve(kReplyHeaderBytes + chunk.size() + 1);
  AppendU32(packet, static_cast<uint32_t>(err));
  AppendU32(packet, more ? 1 : 0);
  AppendU32(packet, static_cast<uint32_t>(chunk.size() + 1));
  packet.append(chunk.data(), chunk.size());
  packet.push_back('\0');
  return packet;
}

}  // namespace

DecodedRequest DecodeRequest(absl::Span<const uint8_t> datagram) {
  DecodedRequest out;
  if (datagram.size() < 4 || LoadU32(datagram.data()) != kMagic) {
    out.early_replies.emplace_back(kVersion0Reply);
    return out;
  }
  if (datagram.size() < kRequestHeaderBytes) {
    out.early_replies.push_back(OnePacket(1, false, "Truncated request"));
    return out;
  }
  const uint32_t version = LoadU32(datagram.data() + 4);
  const uint32_t len = LoadU32(datagram.data() + 8);
  if (len >= kMaxData) {
    out.early_replies.push_back(OnePacket(1, false, "Request too large"));
    return out;
  }
  if (kRequestHeaderBytes + len > datagram.size()) {
    out.early_replies.push_back(OnePacket(1, false, "Truncated request"));
    return out;
  }
  if (version != kProtocolVersion) {
    out.early_replies.push_back(
        OnePacket(1, false, "This driver only supports version 2 clients"));
  }
  absl::string_view data(
      reinterpret_cast<const char*>(datagram.data() + kRequestHeaderBytes),
      len);
  // UML sets data[len] = 0; a NUL inside ends the string for strncmp too.
  data = data.substr(0, std::min(data.size(), data.find('\0')));
  out.execute = true;
  out.command = std::string(data);
  return out;
}

std::vector<std::string> EncodeReply(int32_t err, absl::string_view text) {
  constexpr size_t kChunk = kMaxData - 1;
  std::vector<std::string> packets;
  do {
    absl::string_view chunk = text.substr(0, kChunk);
    text.remove_prefix(chunk.size());
    packets.push_back(OnePacket(err, !text.empty(), chunk));
  } while (!text.empty());
  return packets;
}

std::string EncodeRequest(absl::string_view command, uint32_t version) {
  std::string packet;
  packet.reserve(kRequestBytes);
  AppendU32(packet, kMagic);
  AppendU32(packet, version);
  AppendU32(packet, static_cast<uint32_t>(command.size()));
  command = command.substr(0, kMaxData);
  packet.append(command.data(), command.size());
  packet.resize(kRequestBytes, '\0');
  return packet;
}

bool DecodeReply(absl::Span<const uint8_t> packet, ReplyPacket* out) {
  if (packet.size() < kReplyHeaderBytes) return false;
  out->err = static_cast<int32_t>(LoadU32(packet.data()));
  out->more = LoadU32(packet.data() + 4) != 0;
  uint32_t len = LoadU32(packet.data() + 8);
  if (len > kMaxData || kReplyHeaderBytes + len > packet.size()) return false;
  absl::string_view data(
      reinterpret_cast<const char*>(packet.data() + kReplyHeaderBytes), len);
  out->data = std::string(data.substr(0, data.find('\0')));
  return true;
}

std::string EncodeNotify(NotifyType type, absl::string_view data) {
  data = data.substr(0, kMaxData);
  std::string packet;
  AppendU32(packet, kMagic);
  AppendU32(packet, kProtocolVersion);
  AppendU32(packet, static_cast<uint32_t>(type));
  AppendU32(packet, static_cast<uint32_t>(data.size()));
  packet.append(data.data(), data.size());
  return packet;
}

}  // namespace kuml::mconsole
