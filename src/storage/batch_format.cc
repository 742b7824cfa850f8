#include "storage/batch_format.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "storage/compression.h"
#include "util/bytes.h"
#include "util/crc32c.h"
#include "util/varint.h"

namespace runnel::storage {
namespace {

constexpr int32_t kMinBatchLength = static_cast<int32_t>(kBatchHeaderSize - kLogOverhead);

int32_t BytesLength(const std::optional<std::string_view>& s) {
  return s ? static_cast<int32_t>(s->size()) : -1;
}

// Size of a record's body (everything after its length varint).
size_t RecordBodySize(const RecordView& r, int64_t timestamp_delta, int32_t offset_delta) {
  size_t n = 1;  // attributes
  n += Varint64Length(timestamp_delta) + Varint32Length(offset_delta);
  n += Varint32Length(BytesLength(r.key)) + (r.key ? r.key->size() : 0);
  n += Varint32Length(BytesLength(r.value)) + (r.value ? r.value->size() : 0);
  n += Varint32Length(static_cast<int32_t>(r.headers.size()));
  for (const HeaderView& h : r.headers) {
    n += Varint32Length(static_cast<int32_t>(h.key.size())) + h.key.size();
    n += Varint32Length(BytesLength(h.value)) + (h.value ? h.value->size() : 0);
  }
  return n;
}

char* PutBytes(char* p, const std::optional<std::string_view>& s) {
  p = PutVarint32(p, BytesLength(s));
  if (s && !s->empty()) {
    std::memcpy(p, s->data(), s->size());
    p += s->size();
  }
  return p;
}

int64_t TimestampOf(const RecordView& r, int64_t now_ms) {
  return r.timestamp_ms >= 0 ? r.timestamp_ms : now_ms;
}

}  // namespace

Status ParseBatchHeader(std::string_view b, BatchHeader* h) {
  if (b.size() < kBatchHeaderSize) {
    return Status::InvalidArgument("batch header needs 61 bytes, have " + std::to_string(b.size()));
  }
  const char* p = b.data();
  h->base_offset = static_cast<int64_t>(GetBE64(p));
  h->batch_length = static_cast<int32_t>(GetBE32(p + 8));
  h->partition_leader_epoch = static_cast<int32_t>(GetBE32(p + 12));
  h->magic = static_cast<int8_t>(p[16]);
  h->crc = GetBE32(p + 17);
  h->attributes = static_cast<int16_t>(GetBE16(p + 21));
  h->last_offset_delta = static_cast<int32_t>(GetBE32(p + 23));
  h->base_timestamp = static_cast<int64_t>(GetBE64(p + 27));
  h->max_timestamp = static_cast<int64_t>(GetBE64(p + 35));
  h->producer_id = static_cast<int64_t>(GetBE64(p + 43));
  h->producer_epoch = static_cast<int16_t>(GetBE16(p + 51));
  h->base_sequence = static_cast<int32_t>(GetBE32(p + 53));
  h->records_count = static_cast<int32_t>(GetBE32(p + 57));
  if (h->magic != kMagicV2) {
    return Status::Corruption("batch magic " + std::to_string(h->magic) + ", expected 2");
  }
  if (h->batch_length < kMinBatchLength || h->batch_length > kMaxBatchLength) {
    return Status::Corruption("batch length " + std::to_string(h->batch_length) + " out of range");
  }
  if (h->base_offset < 0 || h->last_offset_delta < 0 || h->records_count < 0) {
    return Status::Corruption("batch has negative offset, offset delta or record count");
  }
  if (h->base_offset > INT64_MAX - h->last_offset_delta - 1) {
    return Status::Corruption("batch offsets overflow");
  }
  return Status::OK();
}

bool BatchCrcMatches(std::string_view batch, const BatchHeader& h) {
  const char* start = batch.data() + kAttributesOffset;
  return crc32c::Value(start, h.total_size() - kAttributesOffset) == h.crc;
}

void SetBaseOffset(char* batch, int64_t base_offset) {
  PutBE64(batch, static_cast<uint64_t>(base_offset));
}

size_t EncodedBatchSize(std::span<const RecordView> records, int64_t now_ms) {
  if (records.empty()) return kBatchHeaderSize;
  int64_t base_ts = TimestampOf(records[0], now_ms);
  size_t n = kBatchHeaderSize;
  for (size_t i = 0; i < records.size(); ++i) {
    size_t body = RecordBodySize(records[i], TimestampOf(records[i], now_ms) - base_ts,
                                 static_cast<int32_t>(i));
    n += UVarintLength(ZigZag32(static_cast<int32_t>(body))) + body;
  }
  return n;
}

size_t EncodeBatch(int64_t base_offset, std::span<const RecordView> records, int64_t now_ms,
                   std::string* dst, std::span<const int32_t> offset_deltas,
                   int32_t last_offset_delta_override) {
  const size_t start = dst->size();
  int64_t base_ts = records.empty() ? now_ms : TimestampOf(records[0], now_ms);
  int64_t max_ts = base_ts;
  int32_t max_delta = 0;
  size_t total = kBatchHeaderSize;
  for (size_t i = 0; i < records.size(); ++i) {
    int32_t delta = offset_deltas.empty() ? static_cast<int32_t>(i) : offset_deltas[i];
    int64_t ts = TimestampOf(records[i], now_ms);
    size_t body = RecordBodySize(records[i], ts - base_ts, delta);
    total += UVarintLength(ZigZag32(static_cast<int32_t>(body))) + body;
    max_ts = std::max(max_ts, ts);
    max_delta = std::max(max_delta, delta);
  }
  if (last_offset_delta_override >= 0) max_delta = last_offset_delta_override;

  dst->resize(start + total);
  char* const b = dst->data() + start;
  PutBE64(b, static_cast<uint64_t>(base_offset));
  PutBE32(b + 8, static_cast<uint32_t>(total - kLogOverhead));
  PutBE32(b + 12, 0);  // partition leader epoch
  b[16] = kMagicV2;
  PutBE16(b + 21, 0);  // attributes: no compression, CreateTime, not transactional
  PutBE32(b + 23, static_cast<uint32_t>(max_delta));
  PutBE64(b + 27, static_cast<uint64_t>(base_ts));
  PutBE64(b + 35, static_cast<uint64_t>(max_ts));
  PutBE64(b + 43, static_cast<uint64_t>(-1));  // producer id
  PutBE16(b + 51, static_cast<uint16_t>(-1));  // producer epoch
  PutBE32(b + 53, static_cast<uint32_t>(-1));  // base sequence
  PutBE32(b + 57, static_cast<uint32_t>(records.size()));

  char* p = b + kBatchHeaderSize;
  for (size_t i = 0; i < records.size(); ++i) {
    const RecordView& r = records[i];
    int32_t delta = offset_deltas.empty() ? static_cast<int32_t>(i) : offset_deltas[i];
    int64_t ts_delta = TimestampOf(r, now_ms) - base_ts;
    p = PutVarint32(p, static_cast<int32_t>(RecordBodySize(r, ts_delta, delta)));
    *p++ = 0;  // record attributes (unused in v2)
    p = PutVarint64(p, ts_delta);
    p = PutVarint32(p, delta);
    p = PutBytes(p, r.key);
    p = PutBytes(p, r.value);
    p = PutVarint32(p, static_cast<int32_t>(r.headers.size()));
    for (const HeaderView& h : r.headers) {
      p = PutBytes(p, h.key);
      p = PutBytes(p, h.value);
    }
  }
  PutBE32(b + kCrcOffset, crc32c::Value(b + kAttributesOffset, total - kAttributesOffset));
  return total;
}

namespace {

// Reads a varint-length-prefixed byte string; length -1 = null.
const char* GetBytes(const char* p, const char* limit, std::optional<std::string_view>* out) {
  int32_t len;
  p = GetVarint32(p, limit, &len);
  if (!p || len < -1) return nullptr;
  if (len == -1) {
    out->reset();
    return p;
  }
  if (limit - p < len) return nullptr;
  *out = std::string_view(p, static_cast<size_t>(len));
  return p + len;
}

}  // namespace

Status DecodeRecords(std::string_view batch, const BatchHeader& h,
                     std::vector<DecodedRecord>* records, std::vector<HeaderView>* headers,
                     std::string* decompressed, size_t max_decompressed) {
  if (batch.size() < h.total_size()) {
    return Status::InvalidArgument("batch shorter than its header says");
  }
  std::string_view section = batch.substr(kBatchHeaderSize, h.total_size() - kBatchHeaderSize);
  if (h.compression() != Compression::kNone) {
    if (!decompressed) {
      return Status::NotSupported("compressed batch (codec " +
                                  std::to_string(static_cast<int>(h.compression())) +
                                  ") at offset " + std::to_string(h.base_offset));
    }
    Status st = Decompress(h.compression(), section, max_decompressed, decompressed);
    if (!st.ok()) {
      // To a reader an undecodable batch is damage (skipped, reading goes
      // on), whether the stream is bad or expands past the limit.
      return Status(st.Is(StatusCode::kNotSupported) ? st.code() : StatusCode::kCorruption,
                    "batch at offset " + std::to_string(h.base_offset) + ": " + st.message());
    }
    section = *decompressed;
  }
  const char* p = section.data();
  const char* const end = section.data() + section.size();
  auto corrupt = [&](int32_t i, const char* what) {
    return Status::Corruption("batch at offset " + std::to_string(h.base_offset) + ", record " +
                              std::to_string(i) + ": " + what);
  };
  // Each record takes at least 7 bytes, which bounds the reservation.
  if (static_cast<size_t>(h.records_count) > static_cast<size_t>(end - p) / 7 + 1) {
    return corrupt(0, "record count larger than the batch can hold");
  }
  records->reserve(records->size() + static_cast<size_t>(h.records_count));
  for (int32_t i = 0; i < h.records_count; ++i) {
    int32_t len;
    p = GetVarint32(p, end, &len);
    if (!p || len < 1 || end - p < len) return corrupt(i, "bad record length");
    const char* rec_end = p + len;
    ++p;  // attributes
    int64_t ts_delta;
    int32_t offset_delta;
    DecodedRecord r{};
    p = GetVarint64(p, rec_end, &ts_delta);
    if (p) p = GetVarint32(p, rec_end, &offset_delta);
    if (p) p = GetBytes(p, rec_end, &r.key);
    if (p) p = GetBytes(p, rec_end, &r.value);
    int32_t header_count = 0;
    if (p) p = GetVarint32(p, rec_end, &header_count);
    if (!p || header_count < 0 || header_count > (rec_end - p) / 2) {
      return corrupt(i, "truncated record fields");
    }
    if (offset_delta < 0 || offset_delta > h.last_offset_delta) {
      return corrupt(i, "offset delta outside the batch");
    }
    r.offset = h.base_offset + offset_delta;  // no overflow: ParseBatchHeader bounds it
    if (__builtin_add_overflow(h.base_timestamp, ts_delta, &r.timestamp_ms)) {
      return corrupt(i, "timestamp delta overflows");
    }
    r.header_begin = static_cast<uint32_t>(headers->size());
    r.header_count = static_cast<uint32_t>(header_count);
    for (int32_t j = 0; j < header_count; ++j) {
      std::optional<std::string_view> key, value;
      p = GetBytes(p, rec_end, &key);
      if (p) p = GetBytes(p, rec_end, &value);
      if (!p || !key) return corrupt(i, "bad header");
      headers->push_back(HeaderView{*key, value});
    }
    if (p != rec_end) return corrupt(i, "record length does not match its fields");
    records->push_back(r);
  }
  if (p != end) return corrupt(h.records_count, "bytes left after the last record");
  return Status::OK();
}

}  // namespace runnel::storage

namespace runnel::storage {

Status ValidateProducedBatch(std::string_view bytes, size_t max_bytes, BatchHeader* out) {
  BatchHeader h;
  if (bytes.size() < kBatchHeaderSize) {
    return Status::Corruption("batch of " + std::to_string(bytes.size()) +
                              " bytes is shorter than a batch header");
  }
  if (bytes[kMagicOffset] != kMagicV2) {
    return Status::InvalidArgument("batch magic " + std::to_string(int{bytes[kMagicOffset]}) +
                                   ", only magic 2 is accepted");
  }
  Status st = ParseBatchHeader(bytes, &h);
  if (!st.ok()) return Status::Corruption(st.message());
  if (h.total_size() != bytes.size()) {
    return Status::Corruption("batch length " + std::to_string(h.batch_length) + " does not match " +
                              std::to_string(bytes.size()) + " bytes received");
  }
  if (!BatchCrcMatches(bytes, h)) return Status::Corruption("batch CRC-32C mismatch");
  if (bytes.size() > max_bytes) {
    return Status::TooLarge("batch of " + std::to_string(bytes.size()) +
                            " bytes is larger than the limit of " + std::to_string(max_bytes));
  }
  if (h.records_count < 1) return Status::InvalidArgument("batch holds no records");
  if (h.last_offset_delta != h.records_count - 1) {
    return Status::InvalidArgument("last offset delta " + std::to_string(h.last_offset_delta) +
                                   " does not match " + std::to_string(h.records_count) +
                                   " records");
  }
  if (h.is_control()) return Status::InvalidArgument("control batches cannot be produced");
  if (h.compression() == Compression::kNone) {
    std::vector<DecodedRecord> records;
    std::vector<HeaderView> headers;
    BatchHeader zero = h;
    zero.base_offset = 0;
    st = DecodeRecords(bytes, zero, &records, &headers);
    if (!st.ok()) return Status::Corruption(st.message());
    for (size_t i = 0; i < records.size(); ++i) {
      if (records[i].offset != static_cast<int64_t>(i)) {
        return Status::Corruption("record " + std::to_string(i) + " has offset delta " +
                                  std::to_string(records[i].offset));
      }
    }
  } else if (static_cast<int>(h.compression()) > 4) {
    return Status::NotSupported("unknown compression codec " +
                                std::to_string(static_cast<int>(h.compression())));
  }
  if (out) *out = h;
  return Status::OK();
}

}  // namespace runnel::storage

namespace runnel {

Status ForEachRecordInBatch(std::string_view batch, size_t max_decompressed_bytes,
                            const std::function<void(const RecordView&)>& fn) {
  storage::BatchHeader h;
  Status st = storage::ParseBatchHeader(batch, &h);
  if (!st.ok()) return st;
  if (h.is_control()) return Status::OK();
  std::vector<storage::DecodedRecord> records;
  std::vector<HeaderView> headers;
  std::string decompressed;
  st = storage::DecodeRecords(batch, h, &records, &headers, &decompressed, max_decompressed_bytes);
  if (!st.ok()) return st;
  for (const storage::DecodedRecord& r : records) {
    RecordView v;
    v.offset = r.offset;
    v.timestamp_ms = r.timestamp_ms;
    v.key = r.key;
    v.value = r.value;
    v.headers = std::span<const HeaderView>(headers.data() + r.header_begin, r.header_count);
    fn(v);
  }
  return Status::OK();
}

}  // namespace runnel

