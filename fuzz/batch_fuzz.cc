// Fuzzes the RecordBatch v2 decoder on arbitrary bytes: header checks, CRC,
// record decoding. Nothing may crash, hang, or read out of bounds; a batch
// that decodes must re-encode to the same records.
#include <cstdint>
#include <string>
#include <vector>

#include "storage/batch_format.h"
#include "storage/batch_scanner.h"

using namespace runnel;
using namespace runnel::storage;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty()) {
    BatchHeader h;
    std::string problem;
    auto o = CheckBatch(in, &h, &problem);
    if (o != BatchScanner::Outcome::kBatch) {
      // Decoding without a CRC match must still be safe (verify does it).
      if (o == BatchScanner::Outcome::kBad && ParseBatchHeader(in, &h).ok() &&
          in.size() >= h.total_size()) {
        std::vector<DecodedRecord> records;
        std::vector<HeaderView> headers;
        (void)DecodeRecords(in, h, &records, &headers);
        std::string unpacked;  // and decompression, bounded at 1 MiB
        (void)DecodeRecords(in, h, &records, &headers, &unpacked, 1 << 20);
      }
      return 0;
    }
    if (h.compression() != Compression::kNone) {
      // Compressed: the codecs must reject or bound whatever the bytes say.
      std::vector<DecodedRecord> records;
      std::vector<HeaderView> headers;
      std::string unpacked;
      (void)DecodeRecords(in, h, &records, &headers, &unpacked, 1 << 20);
      if (unpacked.size() > (1 << 20)) __builtin_trap();
      in.remove_prefix(h.total_size());
      continue;
    }
    std::vector<DecodedRecord> records;
    std::vector<HeaderView> headers;
    if (DecodeRecords(in, h, &records, &headers).ok()) {
      std::vector<RecordView> views;
      for (const auto& r : records) {
        RecordView v;
        v.timestamp_ms = r.timestamp_ms < 0 ? 0 : r.timestamp_ms;
        v.key = r.key;
        v.value = r.value;
        v.headers = std::span<const HeaderView>(headers.data() + r.header_begin, r.header_count);
        views.push_back(v);
      }
      std::string again;
      EncodeBatch(h.base_offset, views, 0, &again);
      BatchHeader h2;
      if (!ParseBatchHeader(again, &h2).ok() || !BatchCrcMatches(again, h2)) __builtin_trap();
      std::vector<DecodedRecord> records2;
      std::vector<HeaderView> headers2;
      if (!DecodeRecords(again, h2, &records2, &headers2).ok()) __builtin_trap();
      if (records2.size() != records.size()) __builtin_trap();
      for (size_t i = 0; i < records.size(); ++i) {
        if (records2[i].key != records[i].key || records2[i].value != records[i].value) {
          __builtin_trap();
        }
      }
    }
    in.remove_prefix(h.total_size());
  }
  return 0;
}
