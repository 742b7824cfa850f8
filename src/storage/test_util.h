// Helpers for storage tests: temp directories and small record builders.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "runnel/log.h"

namespace runnel::testing {

// A fresh directory under $TMPDIR, removed with everything in it at scope end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "runnel-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Reads every record from `start` to the current end of one partition.
inline std::vector<Record> ReadAll(Log* log, const std::string& topic, int32_t partition = 0,
                                   StartPosition start = StartPosition::Earliest()) {
  std::vector<Record> out;
  auto reader = log->NewReader(topic, partition, start);
  if (!reader.ok()) return out;
  for (;;) {
    auto batch = (*reader)->Read(1 << 20);
    if (!batch.ok()) {
      if (batch.status().Is(StatusCode::kCorruption)) continue;
      break;
    }
    if (batch->empty()) break;
    for (const RecordView& r : batch->records()) out.push_back(Record::From(r));
  }
  return out;
}

inline RecordView ValueView(std::string_view value) {
  RecordView r;
  r.value = value;
  return r;
}

}  // namespace runnel::testing
