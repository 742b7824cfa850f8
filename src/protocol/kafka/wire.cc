#include "protocol/kafka/wire.h"

#include <algorithm>

namespace runnel::kafka {

uint64_t Decoder::Fixed(size_t n) {
  if (!ok_ || data_.size() - pos_ < n) {
    ok_ = false;
    return 0;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(data_[pos_ + i]);
  pos_ += n;
  return v;
}

uint32_t Decoder::UVarint() {
  uint32_t v = 0;
  for (int shift = 0; shift <= 28; shift += 7) {
    if (!ok_ || pos_ >= data_.size()) break;
    const auto b = static_cast<uint8_t>(data_[pos_++]);
    if (shift == 28 && (b & 0xf0) != 0) break;  // more than 32 bits
    v |= static_cast<uint32_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  ok_ = false;
  return 0;
}

std::string_view Decoder::Take(size_t n) {
  if (!ok_ || data_.size() - pos_ < n) {
    ok_ = false;
    return {};
  }
  std::string_view s = data_.substr(pos_, n);
  pos_ += n;
  return s;
}

std::optional<std::string_view> Decoder::NullableString(bool flexible) {
  int64_t n;
  if (flexible) {
    n = static_cast<int64_t>(UVarint()) - 1;
  } else {
    n = Int16();
  }
  if (!ok_) return std::nullopt;
  if (n < 0) {
    if (n != -1) ok_ = false;
    return std::nullopt;
  }
  std::string_view s = Take(static_cast<size_t>(n));
  if (!ok_) return std::nullopt;
  return s;
}

std::optional<std::string_view> Decoder::NullableBytes(bool flexible) {
  int64_t n;
  if (flexible) {
    n = static_cast<int64_t>(UVarint()) - 1;
  } else {
    n = Int32();
  }
  if (!ok_) return std::nullopt;
  if (n < 0) {
    if (n != -1) ok_ = false;
    return std::nullopt;
  }
  std::string_view s = Take(static_cast<size_t>(n));
  if (!ok_) return std::nullopt;
  return s;
}

int32_t Decoder::ArrayCount(bool flexible, size_t min_element_bytes) {
  int64_t n;
  if (flexible) {
    n = static_cast<int64_t>(UVarint()) - 1;
  } else {
    n = Int32();
  }
  if (!ok_) return 0;
  if (n < -1) {
    ok_ = false;
    return 0;
  }
  if (n > 0 && static_cast<uint64_t>(n) > remaining() / std::max<size_t>(min_element_bytes, 1)) {
    ok_ = false;  // a count the message cannot hold: refuse before anyone reserves for it
    return 0;
  }
  return static_cast<int32_t>(n);
}

void Decoder::SkipTaggedFields() {
  uint32_t count = UVarint();
  for (uint32_t i = 0; ok_ && i < count; ++i) {
    UVarint();  // tag
    uint32_t size = UVarint();
    Take(size);
  }
}

void Encoder::Fixed(uint64_t v, size_t n) {
  for (size_t i = n; i-- > 0;) out_->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void Encoder::UVarint(uint32_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<char>(v));
}

void Encoder::String(std::string_view s, bool flexible) {
  if (flexible) {
    UVarint(static_cast<uint32_t>(s.size()) + 1);
  } else {
    Int16(static_cast<int16_t>(s.size()));
  }
  out_->append(s);
}

void Encoder::NullableString(std::optional<std::string_view> s, bool flexible) {
  if (s) return String(*s, flexible);
  if (flexible) {
    UVarint(0);
  } else {
    Int16(-1);
  }
}

void Encoder::Bytes(std::optional<std::string_view> b, bool flexible) {
  if (!b) {
    if (flexible) {
      UVarint(0);
    } else {
      Int32(-1);
    }
    return;
  }
  if (flexible) {
    UVarint(static_cast<uint32_t>(b->size()) + 1);
  } else {
    Int32(static_cast<int32_t>(b->size()));
  }
  out_->append(*b);
}

void Encoder::ArrayCount(int32_t n, bool flexible) {
  if (flexible) {
    UVarint(static_cast<uint32_t>(n + 1));
  } else {
    Int32(n);
  }
}

void Encoder::PatchInt32(size_t at, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  for (int i = 0; i < 4; ++i) (*out_)[at + i] = static_cast<char>((u >> (24 - 8 * i)) & 0xff);
}

}  // namespace runnel::kafka
