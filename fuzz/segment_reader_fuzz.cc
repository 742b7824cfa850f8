// Fuzzes the segment reader and `verify` on arbitrary .log and .index
// contents, through real files: the input is split into a log file and an
// index file of one partition, then a Reader reads everything it can and
// VerifyDirectory checks the directory. Nothing may crash or loop forever;
// every record handed out must come from a batch whose CRC matched.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "runnel/log.h"
#include "storage/data_dir.h"
#include "storage/verify.h"
#include "util/env.h"

using namespace runnel;

namespace {

struct Fixture {
  std::string dir;
  std::string partition;
  std::unique_ptr<Log> log;

  Fixture() {
    char tmpl[] = "/tmp/runnel-fuzz-XXXXXX";
    dir = mkdtemp(tmpl);
    log = std::move(*Log::Open(dir));
    (void)log->CreateTopic("f", {});
    partition = storage::PartitionDir(storage::TopicDir(dir, "f"), 0);
  }
};

void WriteFile(const std::string& path, std::string_view data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fx;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // First two bytes: how many bytes of the rest form the index file.
  size_t index_len = size >= 2 ? (data[0] | (data[1] << 8)) % 512 : 0;
  in.remove_prefix(std::min<size_t>(2, in.size()));
  index_len = std::min(index_len, in.size());
  std::string_view index = in.substr(0, index_len);
  std::string_view log = in.substr(index_len);
  unlink((fx.partition + "/hwm").c_str());  // readers fall back to scanning
  WriteFile(storage::SegmentPath(fx.partition, 0, storage::SegmentFileKind::kLog), log);
  WriteFile(storage::SegmentPath(fx.partition, 0, storage::SegmentFileKind::kIndex), index);

  auto reader = fx.log->NewReader("f", 0, StartPosition::Offset(size % 7));
  if (reader.ok()) {
    for (int i = 0; i < 10000; ++i) {
      auto batch = (*reader)->Read(size % 3 == 0 ? 64 : 1 << 20);
      if (!batch.ok()) {
        if (batch.status().Is(StatusCode::kCorruption)) continue;
        break;
      }
      if (batch->empty()) break;
      for (const RecordView& r : batch->records()) {
        if (r.offset < 0) __builtin_trap();
      }
    }
  }
  (void)storage::VerifyDirectory(Env::Default(), fx.dir);
  return 0;
}
