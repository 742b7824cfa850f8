// Kafka primitive types (reference/kafka.md §2): big-endian integers,
// STRING/BYTES/ARRAY with int16/int32 lengths, their COMPACT forms (unsigned
// varint length + 1) in flexible versions, and tagged-field sections.
//
// Decoder never throws and never allocates from a length it read: every
// length is checked against the bytes that remain, and the first failure
// makes ok() false and every later read return zero/empty, so a message
// decoder reads straight through and checks ok() once at the end.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace runnel::kafka {

class Decoder {
 public:
  explicit Decoder(std::string_view data) : data_(data) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  size_t position() const { return pos_; }
  void Fail() { ok_ = false; }

  int8_t Int8() { return static_cast<int8_t>(Fixed(1)); }
  int16_t Int16() { return static_cast<int16_t>(Fixed(2)); }
  int32_t Int32() { return static_cast<int32_t>(Fixed(4)); }
  int64_t Int64() { return static_cast<int64_t>(Fixed(8)); }
  bool Bool() { return Fixed(1) != 0; }
  uint32_t UVarint();

  // STRING / COMPACT_STRING; null reads as nullopt (String() gives "").
  std::optional<std::string_view> NullableString(bool flexible);
  std::string_view String(bool flexible) { return NullableString(flexible).value_or(""); }
  // BYTES / COMPACT_BYTES (also RECORDS).
  std::optional<std::string_view> NullableBytes(bool flexible);
  // ARRAY count (-1 = null) / COMPACT_ARRAY. Fails when the count cannot fit
  // in the remaining bytes at `min_element_bytes` each.
  int32_t ArrayCount(bool flexible, size_t min_element_bytes = 1);
  // Skips a TAGGED_FIELDS section (every tag is unknown to runnel).
  void SkipTaggedFields();
  std::string_view Take(size_t n);

 private:
  uint64_t Fixed(size_t n);

  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Appends to a string. Lengths are the caller's to keep within int16/int32.
class Encoder {
 public:
  explicit Encoder(std::string* out) : out_(out) {}

  void Int8(int8_t v) { Fixed(static_cast<uint8_t>(v), 1); }
  void Int16(int16_t v) { Fixed(static_cast<uint16_t>(v), 2); }
  void Int32(int32_t v) { Fixed(static_cast<uint32_t>(v), 4); }
  void Int64(int64_t v) { Fixed(static_cast<uint64_t>(v), 8); }
  void Bool(bool v) { Int8(v ? 1 : 0); }
  void UVarint(uint32_t v);
  void String(std::string_view s, bool flexible);
  void NullableString(std::optional<std::string_view> s, bool flexible);
  void Bytes(std::optional<std::string_view> b, bool flexible);
  void ArrayCount(int32_t n, bool flexible);  // -1 = null
  void EmptyTaggedFields() { UVarint(0); }
  void Raw(std::string_view b) { out_->append(b); }
  // Overwrites 4 bytes at `at` (a size field written before its content).
  void PatchInt32(size_t at, int32_t v);
  size_t size() const { return out_->size(); }

 private:
  void Fixed(uint64_t v, size_t n);
  std::string* out_;
};

}  // namespace runnel::kafka
