#include "storage/hwm_file.h"

#include "util/bytes.h"
#include "util/crc32c.h"
#include "util/env.h"
#include "util/status_macros.h"

namespace runnel::storage {

std::string EncodeHwm(const Hwm& h) {
  std::string s(kHwmSize, '\0');
  char* p = s.data();
  p[0] = 'R';
  p[1] = 'N';
  p[2] = 'H';
  p[3] = 'W';
  PutBE16(p + 4, 1);
  PutBE16(p + 6, h.flags);
  PutBE64(p + 8, h.generation);
  PutBE64(p + 16, static_cast<uint64_t>(h.next_offset));
  PutBE64(p + 24, static_cast<uint64_t>(h.segment_base));
  PutBE64(p + 32, h.segment_size);
  PutBE32(p + 40, crc32c::Value(p, 40));
  return s;
}

Status DecodeHwm(std::string_view b, Hwm* h) {
  if (b.empty()) return Status::NotFound("hwm is empty");
  if (b.size() < kHwmSize || b.substr(0, 4) != "RNHW") return Status::Corruption("hwm: bad magic");
  if (GetBE16(b.data() + 4) != 1) return Status::Corruption("hwm: unknown version");
  if (crc32c::Value(b.data(), 40) != GetBE32(b.data() + 40)) {
    return Status::Corruption("hwm: CRC mismatch");
  }
  h->flags = GetBE16(b.data() + 6);
  h->generation = GetBE64(b.data() + 8);
  h->next_offset = static_cast<int64_t>(GetBE64(b.data() + 16));
  h->segment_base = static_cast<int64_t>(GetBE64(b.data() + 24));
  h->segment_size = GetBE64(b.data() + 32);
  if (h->next_offset < 0 || h->segment_base < 0 || h->segment_base > h->next_offset) {
    return Status::Corruption("hwm: offsets out of order");
  }
  return Status::OK();
}

Result<Hwm> ReadHwm(File* file) {
  Status last;
  for (int attempt = 0; attempt < 8; ++attempt) {
    char buf[kHwmSize];
    ASSIGN_OR_RETURN(size_t n, file->ReadAt(0, buf, kHwmSize));
    Hwm h;
    last = DecodeHwm(std::string_view(buf, n), &h);
    if (last.ok()) return h;
    if (last.Is(StatusCode::kNotFound)) break;
  }
  return last;
}

}  // namespace runnel::storage
