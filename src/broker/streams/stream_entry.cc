#include "broker/streams/stream_entry.h"

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

}  // namespace runnel::broker::streams
