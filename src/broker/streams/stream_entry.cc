#include "broker/streams/stream_entry.h"

#include <limits>

namespace runnel::broker::streams {

void EncodeEntry(StreamId id, std::span<const std::string_view> fields, EncodedEntry* out) {
  out->key = id.ToString();
  out->headers.clear();
  out->headers.reserve(fields.size() / 2);
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    out->headers.push_back(HeaderView{fields[i], fields[i + 1]});
  }
  out->record = RecordView{};
  out->record.timestamp_ms = -1;  // the producer's wall clock
  out->record.key = std::string_view(out->key);
  out->record.value = std::string_view();
  out->record.headers = out->headers;
}

std::optional<StreamId> EntryIdOf(const RecordView& record) {
  if (!record.key || !record.value) return std::nullopt;
  const std::string_view key = *record.key;
  if (key.find('-') == std::string_view::npos) return std::nullopt;
  auto id = ParseStreamId(key, MissingSeq::kZero, false);
  // Canonical only ("01-1" is not written by runnel), and never 0-0.
  if (!id || id->IsZero() || id->ToString() != key) return std::nullopt;
  return id;
}

std::optional<Entry> DecodeEntry(const RecordView& record) {
  auto id = EntryIdOf(record);
  if (!id) return std::nullopt;
  Entry e;
  e.id = *id;
  e.offset = record.offset;
  e.fields.reserve(record.headers.size() * 2);
  for (const HeaderView& h : record.headers) {
    e.fields.emplace_back(h.key);
    e.fields.emplace_back(h.value.value_or(std::string_view()));
  }
  return e;
}

StreamId RecordIdAt(int64_t offset) { return {static_cast<uint64_t>(offset), 1}; }

int64_t RecordOffsetFloor(StreamId id) {
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (id.ms >= kMax) return std::numeric_limits<int64_t>::max();
  // <ms>-0 and <ms>-1 name the record at ms; <ms>-2 and up lie after it.
  return static_cast<int64_t>(id.ms) + (id.seq > 1 ? 1 : 0);
}

Entry RecordAsEntry(const RecordView& record) {
  Entry e;
  e.id = RecordIdAt(record.offset);
  e.offset = record.offset;
  e.fields.reserve(4 + record.headers.size() * 2);
  if (record.key) {
    e.fields.emplace_back("key");
    e.fields.emplace_back(*record.key);
  }
  if (record.value) {
    e.fields.emplace_back("value");
    e.fields.emplace_back(*record.value);
  }
  for (const HeaderView& h : record.headers) {
    e.fields.emplace_back(h.key);
    e.fields.emplace_back(h.value.value_or(std::string_view()));
  }
  if (e.fields.empty()) {
    e.fields.emplace_back("value");
    e.fields.emplace_back();
  }
  return e;
}

}  // namespace runnel::broker::streams
