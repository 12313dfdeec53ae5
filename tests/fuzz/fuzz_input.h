// FuzzInput: reads a fuzzer's input front to back as little-endian integers
// and byte strings; past the end every read yields zeros (or nothing), so a
// harness never has to check lengths. The encoding is deliberately trivial:
// tests/fuzz/make_seeds.py writes seed inputs in the same format.
#ifndef KUML_TESTS_FUZZ_FUZZ_INPUT_H_
#define KUML_TESTS_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace kuml {
namespace fuzz {

// A harness's own consistency check: abort() (libFuzzer reports a crash).
inline void Check(bool ok) {
  if (!ok) std::abort();
}

// KUML_FUZZ_DEBUG=1 in the environment: harnesses print a line per input
// saying how far it got (to check what a seed reaches).
inline bool Debug() {
  static const bool on = std::getenv("KUML_FUZZ_DEBUG") != nullptr;
  return on;
}

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool empty() const { return pos_ >= size_; }
  size_t remaining() const { return pos_ < size_ ? size_ - pos_ : 0; }

  uint8_t U8() { return static_cast<uint8_t>(Int(1)); }
  uint16_t U16() { return static_cast<uint16_t>(Int(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Int(4)); }
  uint64_t U64() { return Int(8); }
  bool Bool() { return U8() & 1; }

  // Up to n bytes (fewer at the end).
  std::string Bytes(size_t n) {
    n = n < remaining() ? n : remaining();
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  // A length byte (u16 when `wide`), capped at `max`, then that many bytes.
  std::string LengthPrefixed(size_t max, bool wide = false) {
    size_t n = wide ? U16() : U8();
    return Bytes(n < max ? n : max);
  }
  std::string Rest() { return Bytes(remaining()); }

 private:
  uint64_t Int(size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n && pos_ < size_; ++i) {
      v |= uint64_t{data_[pos_++]} << (8 * i);
    }
    return v;
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace fuzz
}  // namespace kuml

#endif  // KUML_TESTS_FUZZ_FUZZ_INPUT_H_
