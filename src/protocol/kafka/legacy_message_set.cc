#include "protocol/kafka/legacy_message_set.h"

#include <zlib.h>

#include <deque>
#include <optional>
#include <vector>

#include "runnel/record.h"
#include "storage/batch_format.h"
#include "storage/compression.h"
#include "util/bytes.h"
#include "util/crc32c.h"

namespace runnel::kafka {
namespace {

using storage::Compression;

constexpr size_t kLogOverhead = 12;  // offset + message_size
constexpr int8_t kCodecMask = 0x07;
constexpr int8_t kLogAppendTimeBit = 0x08;
// crc, magic, attributes, key length, value length (+ timestamp for magic 1).
constexpr int32_t kMinMessageV0 = 14;
constexpr int32_t kMinMessageV1 = 22;

// Reads a nullable int32-length byte string at *pos; false if it does not fit.
bool ReadBytes(std::string_view msg, size_t* pos, std::optional<std::string_view>* out) {
  if (msg.size() - *pos < 4) return false;
  const int32_t n = static_cast<int32_t>(GetBE32(msg.data() + *pos));
  *pos += 4;
  if (n == -1) {
    out->reset();
    return true;
  }
  if (n < 0 || static_cast<size_t>(n) > msg.size() - *pos) return false;
  *out = msg.substr(*pos, static_cast<size_t>(n));
  *pos += static_cast<size_t>(n);
  return true;
}

class Converter {
 public:
  explicit Converter(size_t budget) : budget_(budget) {}

  // A wrapper's context for the inner messages it holds.
  struct Wrapper {
    int8_t magic;
    int64_t timestamp;
    bool log_append_time;
  };

  bool ParseSet(std::string_view set, const Wrapper* wrapper) {
    size_t pos = 0;
    const size_t before = records_.size();
    while (pos < set.size()) {
      if (set.size() - pos < kLogOverhead) {
        return Fail(ErrorCode::kCorruptMessage, "truncated message header at byte " + At(pos));
      }
      const int32_t size = static_cast<int32_t>(GetBE32(set.data() + pos + 8));
      if (size < kMinMessageV0) {
        return Fail(ErrorCode::kCorruptMessage,
                    "message size " + std::to_string(size) + " at byte " + At(pos));
      }
      if (static_cast<size_t>(size) > set.size() - pos - kLogOverhead) {
        return Fail(ErrorCode::kCorruptMessage, "message at byte " + At(pos) + " runs past the set");
      }
      if (!ParseMessage(set.substr(pos + kLogOverhead, static_cast<size_t>(size)), wrapper)) {
        return false;
      }
      pos += kLogOverhead + static_cast<size_t>(size);
    }
    if (records_.size() == before) {
      return Fail(ErrorCode::kInvalidRecord,
                  wrapper ? "compressed wrapper holds no messages" : "empty message set");
    }
    // As Kafka: a compressed set is one wrapper and nothing else.
    if (!wrapper && codec_ != Compression::kNone && top_level_ > 1) {
      return Fail(ErrorCode::kInvalidRecord, "a compressed wrapper must be alone in its set");
    }
    return true;
  }

  LegacyConversion Encode(int64_t now_ms, std::string* batch) {
    std::string plain;
    storage::EncodeBatch(0, records_, now_ms, &plain);
    result_.records = static_cast<int32_t>(records_.size());
    if (codec_ == Compression::kNone) {
      batch->append(plain);
      return result_;
    }
    std::string out(plain, 0, storage::kBatchHeaderSize);
    const std::string_view section = std::string_view(plain).substr(storage::kBatchHeaderSize);
    Status st = storage::Compress(codec_, section, &out, framing_);
    if (!st.ok()) {
      result_.error = ErrorCode::kUnknownServerError;
      result_.detail = st.ToString();
      return result_;
    }
    PutBE32(out.data() + storage::kBatchLengthOffset,
            static_cast<uint32_t>(out.size() - storage::kLogOverhead));
    PutBE16(out.data() + storage::kAttributesOffset, static_cast<uint16_t>(codec_));
    PutBE32(out.data() + storage::kCrcOffset,
            crc32c::Value(out.data() + storage::kAttributesOffset,
                          out.size() - storage::kAttributesOffset));
    batch->append(out);
    return result_;
  }

  const LegacyConversion& result() const { return result_; }

 private:
  bool ParseMessage(std::string_view msg, const Wrapper* wrapper) {
    const uint32_t crc = GetBE32(msg.data());
    const int8_t magic = static_cast<int8_t>(msg[4]);
    const int8_t attributes = static_cast<int8_t>(msg[5]);
    if (magic != 0 && magic != 1) {
      return Fail(ErrorCode::kInvalidRecord,
                  "magic " + std::to_string(magic) + " in a legacy message set");
    }
    const auto* covered = reinterpret_cast<const Bytef*>(msg.data() + 4);
    if (crc32(0, covered, static_cast<uInt>(msg.size() - 4)) != crc) {
      return Fail(ErrorCode::kCorruptMessage, "message CRC mismatch");
    }
    if (!wrapper) {
      ++top_level_;
      if (top_magic_ < 0) top_magic_ = magic;
      if (magic != top_magic_) {
        return Fail(ErrorCode::kInvalidRecord, "messages of magic 0 and 1 in one set");
      }
    }
    if (magic == 1 && msg.size() < static_cast<size_t>(kMinMessageV1)) {
      return Fail(ErrorCode::kCorruptMessage, "magic 1 message shorter than its fixed fields");
    }
    size_t pos = 6;
    int64_t timestamp = -1;
    if (magic == 1) {
      timestamp = static_cast<int64_t>(GetBE64(msg.data() + pos));
      pos += 8;
    }
    std::optional<std::string_view> key, value;
    if (!ReadBytes(msg, &pos, &key) || !ReadBytes(msg, &pos, &value) || pos != msg.size()) {
      return Fail(ErrorCode::kCorruptMessage, "key and value lengths do not match message size");
    }
    const int8_t codec = attributes & kCodecMask;
    // Kafka refuses a producer's LogAppendTime only where it leaves a record
    // without a timestamp (its check runs on the timestamp a record reads as).
    const bool log_append_time = magic == 1 && (attributes & kLogAppendTimeBit) != 0;
    if (wrapper) {
      if (codec != 0) {
        return Fail(ErrorCode::kInvalidRecord, "compressed message inside a compressed wrapper");
      }
      if (magic != wrapper->magic) {
        return Fail(ErrorCode::kInvalidRecord, "inner message magic differs from its wrapper's");
      }
      if (magic == 1 && wrapper->log_append_time) timestamp = wrapper->timestamp;
      if (wrapper->log_append_time && timestamp == -1) return NoTimestamp();
      Add(timestamp, key, value);
      return true;
    }
    if (codec == 0) {
      if (log_append_time && timestamp == -1) return NoTimestamp();
      Add(timestamp, key, value);
      return true;
    }
    if (codec == static_cast<int8_t>(Compression::kZstd)) {
      return Fail(ErrorCode::kUnsupportedCompressionType, "zstd needs message format v2");
    }
    if (codec > static_cast<int8_t>(Compression::kZstd)) {
      return Fail(ErrorCode::kCorruptMessage, "unknown codec " + std::to_string(codec));
    }
    if (!value || value->empty()) {
      return Fail(ErrorCode::kInvalidRecord, "compressed wrapper without a value");
    }
    const auto c = static_cast<Compression>(codec);
    std::string repaired;
    std::string_view input = *value;
    if (c == Compression::kLz4 && magic == 0) {
      repaired.assign(*value);
      RepairLz4HeaderChecksum(&repaired);
      input = repaired;
    }
    std::string& inner = inflated_.emplace_back();
    Status st = storage::Decompress(c, input, budget_, &inner);
    if (st.Is(StatusCode::kTooLarge)) {
      return Fail(ErrorCode::kMessageTooLarge, "decompressed message set too large");
    }
    if (!st.ok()) return Fail(ErrorCode::kCorruptMessage, st.ToString());
    budget_ -= inner.size();
    codec_ = c;
    if (c == Compression::kSnappy) framing_ = storage::SnappyFramingOf(*value);
    const Wrapper w{magic, timestamp, log_append_time};
    return ParseSet(inner, &w);
  }

  void Add(int64_t timestamp, std::optional<std::string_view> key,
           std::optional<std::string_view> value) {
    RecordView& r = records_.emplace_back();
    r.timestamp_ms = timestamp < 0 ? -1 : timestamp;
    r.key = key;
    r.value = value;
  }

  bool Fail(ErrorCode e, std::string detail) {
    result_.error = e;
    result_.detail = std::move(detail);
    return false;
  }

  bool NoTimestamp() {
    return Fail(ErrorCode::kInvalidTimestamp, "LogAppendTime message without a timestamp");
  }

  static std::string At(size_t pos) { return std::to_string(pos); }

  size_t budget_;
  int top_level_ = 0;    // messages at the top of the set
  int8_t top_magic_ = -1;  // the first one's magic; all must share it
  LegacyConversion result_;
  std::vector<RecordView> records_;
  // Decompressed inner sets; records point into them. A deque never moves
  // its elements, so the views stay valid as more are added.
  std::deque<std::string> inflated_;
  Compression codec_ = Compression::kNone;
  storage::SnappyFraming framing_ = storage::SnappyFraming::kRaw;
};

constexpr uint32_t kP1 = 0x9E3779B1u;
constexpr uint32_t kP2 = 0x85EBCA77u;
constexpr uint32_t kP3 = 0xC2B2AE3Du;
constexpr uint32_t kP4 = 0x27D4EB2Fu;
constexpr uint32_t kP5 = 0x165667B1u;

uint32_t Rotl(uint32_t v, int r) { return (v << r) | (v >> (32 - r)); }

uint32_t Le32(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

constexpr uint32_t kLz4FrameMagic = 0x184D2204u;

}  // namespace

uint32_t XxHash32(std::string_view data, uint32_t seed) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const size_t n = data.size();
  size_t i = 0;
  uint32_t acc;
  if (n >= 16) {
    uint32_t v[4] = {seed + kP1 + kP2, seed + kP2, seed, seed - kP1};
    for (; i + 16 <= n; i += 16) {
      for (int lane = 0; lane < 4; ++lane) {
        v[lane] = Rotl(v[lane] + Le32(p + i + 4 * lane) * kP2, 13) * kP1;
      }
    }
    acc = Rotl(v[0], 1) + Rotl(v[1], 7) + Rotl(v[2], 12) + Rotl(v[3], 18);
  } else {
    acc = seed + kP5;
  }
  acc += static_cast<uint32_t>(n);
  for (; i + 4 <= n; i += 4) acc = Rotl(acc + Le32(p + i) * kP3, 17) * kP4;
  for (; i < n; ++i) acc = Rotl(acc + p[i] * kP5, 11) * kP1;
  acc ^= acc >> 15;
  acc *= kP2;
  acc ^= acc >> 13;
  acc *= kP3;
  acc ^= acc >> 16;
  return acc;
}

bool RepairLz4HeaderChecksum(std::string* frame) {
  // magic (4), FLG, BD, [content size (8)], [dictionary id (4)], HC.
  if (frame->size() < 7) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(frame->data());
  if (Le32(p) != kLz4FrameMagic) return false;
  const unsigned char flg = p[4];
  size_t descriptor = 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
  if (frame->size() < 4 + descriptor + 1) return false;
  const uint32_t h = XxHash32(std::string_view(*frame).substr(4, descriptor), 0);
  (*frame)[4 + descriptor] = static_cast<char>((h >> 8) & 0xFF);
  return true;
}

LegacyConversion UpConvertMessageSet(std::string_view message_set, int64_t now_ms,
                                     size_t max_decompressed, std::string* batch) {
  Converter c(max_decompressed);
  if (!c.ParseSet(message_set, nullptr)) return c.result();
  return c.Encode(now_ms, batch);
}

}  // namespace runnel::kafka
