#include "protocol/kafka/producer_ids.h"

#include <climits>

#include "util/bytes.h"
#include "util/crc32c.h"
#include "util/env.h"
#include "util/status_macros.h"

namespace runnel::kafka {
namespace {

constexpr size_t kFileSize = 4 + 2 + 8 + 4;

std::string Encode(int64_t next) {
  std::string s(kFileSize, '\0');
  s.replace(0, 4, "RNPI");
  PutBE16(s.data() + 4, 1);
  PutBE64(s.data() + 6, static_cast<uint64_t>(next));
  PutBE32(s.data() + 14, crc32c::Value(s.data(), 14));
  return s;
}

}  // namespace

Result<int64_t> ProducerIdAllocator::Next() {
  std::lock_guard lock(mu_);
  if (next_ == end_) RETURN_IF_ERROR(ClaimBlock());
  return next_++;
}

Status ProducerIdAllocator::ClaimBlock() {
  Env* env = Env::Default();
  const std::string meta = dir_ + "/meta";
  const std::string path = meta + "/kafka_producer_ids";
  RETURN_IF_ERROR(env->CreateDirs(meta));
  ASSIGN_OR_RETURN(auto lock, env->LockFile(path + ".lock", /*wait=*/true));
  int64_t start = 0;
  if (env->FileExists(path)) {
    ASSIGN_OR_RETURN(auto f, env->OpenFile(path, OpenMode::kRead));
    char buf[kFileSize];
    ASSIGN_OR_RETURN(size_t n, f->ReadAt(0, buf, sizeof(buf)));
    // A damaged file must not restart the ids at 0 (they would repeat).
    if (n != kFileSize || std::string_view(buf, 4) != "RNPI" || GetBE16(buf + 4) != 1 ||
        crc32c::Value(buf, 14) != GetBE32(buf + 14)) {
      return Status::Corruption(path + ": damaged; producer ids cannot be handed out safely");
    }
    start = static_cast<int64_t>(GetBE64(buf + 6));
    if (start < 0 || start > INT64_MAX - kBlockSize) return Status::Corruption(path + ": bad id");
  }
  const std::string tmp = path + ".tmp";
  {
    ASSIGN_OR_RETURN(auto f, env->OpenFile(tmp, OpenMode::kCreate));
    RETURN_IF_ERROR(f->Truncate(0));
    RETURN_IF_ERROR(f->WriteAt(0, Encode(start + kBlockSize)));
    RETURN_IF_ERROR(f->Sync());
  }
  RETURN_IF_ERROR(env->Rename(tmp, path));
  RETURN_IF_ERROR(env->SyncDir(meta));
  next_ = start;
  end_ = start + kBlockSize;
  return Status::OK();
}

}  // namespace runnel::kafka
