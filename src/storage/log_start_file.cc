#include "storage/log_start_file.h"

#include "storage/data_dir.h"
#include "util/bytes.h"
#include "util/crc32c.h"
#include "util/env.h"
#include "util/status_macros.h"

namespace runnel::storage {

std::string EncodeLogStart(int64_t log_start) {
  std::string s(kLogStartSize, '\0');
  char* p = s.data();
  p[0] = 'R';
  p[1] = 'N';
  p[2] = 'L';
  p[3] = 'S';
  PutBE16(p + 4, 1);
  PutBE16(p + 6, 0);
  PutBE64(p + 8, static_cast<uint64_t>(log_start));
  PutBE32(p + 16, crc32c::Value(p, 16));
  return s;
}

Status DecodeLogStart(std::string_view b, int64_t* log_start) {
  if (b.size() != kLogStartSize || b.substr(0, 4) != "RNLS") {
    return Status::Corruption("log_start: bad size or magic");
  }
  if (GetBE16(b.data() + 4) != 1) return Status::Corruption("log_start: unknown version");
  if (crc32c::Value(b.data(), 16) != GetBE32(b.data() + 16)) {
    return Status::Corruption("log_start: CRC mismatch");
  }
  const auto v = static_cast<int64_t>(GetBE64(b.data() + 8));
  if (v < 0) return Status::Corruption("log_start: negative offset");
  *log_start = v;
  return Status::OK();
}

Result<int64_t> ReadLogStart(Env* env, const std::string& dir) {
  const std::string path = dir + "/" + std::string(kLogStartFile);
  auto f = env->OpenFile(path, OpenMode::kRead);
  if (!f.ok()) {
    if (f.status().Is(StatusCode::kNotFound)) return int64_t{0};
    return f.status();
  }
  char buf[kLogStartSize + 1];  // one more: a longer file is damage too
  ASSIGN_OR_RETURN(size_t n, (*f)->ReadAt(0, buf, sizeof(buf)));
  int64_t v = 0;
  Status st = DecodeLogStart(std::string_view(buf, n), &v);
  if (!st.ok()) return Status::Corruption(path + ": " + st.message());
  return v;
}

int64_t ReadLogStartOrZero(Env* env, const std::string& dir) {
  auto v = ReadLogStart(env, dir);
  return v.ok() ? *v : 0;
}

Status WriteLogStart(Env* env, const std::string& dir, int64_t log_start) {
  const std::string path = dir + "/" + std::string(kLogStartFile);
  const std::string tmp = path + ".tmp";
  {
    ASSIGN_OR_RETURN(auto f, env->OpenFile(tmp, OpenMode::kCreate));
    RETURN_IF_ERROR(f->Truncate(0));
    RETURN_IF_ERROR(f->Append(EncodeLogStart(log_start)));
    RETURN_IF_ERROR(f->Sync());
  }
  RETURN_IF_ERROR(env->Rename(tmp, path));
  return env->SyncDir(dir);
}

}  // namespace runnel::storage
