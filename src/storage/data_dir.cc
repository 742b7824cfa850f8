#include "storage/data_dir.h"

#include <cstdio>

namespace runnel::storage {
namespace {

bool IsPlain(unsigned char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  if (c == '_' || c == '-') return true;
  return c == '.' && !first;  // never ".", "..", or a hidden entry
}

uint64_t Fnv1a64(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

const char* Suffix(SegmentFileKind kind) {
  switch (kind) {
    case SegmentFileKind::kLog:
      return ".log";
    case SegmentFileKind::kIndex:
      return ".index";
    case SegmentFileKind::kTimeIndex:
      return ".timeindex";
  }
  return "";
}

}  // namespace

std::string EscapeTopicName(std::string_view name) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (IsPlain(c, i == 0)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (out.size() <= kMaxEscapedNameBytes) return out;
  size_t keep = kMaxEscapedNameBytes - 17;
  // Do not cut a %XX triple in half.
  if (out[keep - 1] == '%') keep -= 1;
  if (keep >= 2 && out[keep - 2] == '%') keep -= 2;
  char hash[20];
  std::snprintf(hash, sizeof(hash), "~%016llx", static_cast<unsigned long long>(Fnv1a64(name)));
  return out.substr(0, keep) + hash;
}

std::string TopicsDir(const std::string& data) { return data + "/topics"; }
std::string MetaDir(const std::string& data) { return data + "/meta"; }

std::string TopicDir(const std::string& data, std::string_view topic_name) {
  return TopicsDir(data) + "/" + EscapeTopicName(topic_name);
}

std::string PartitionDir(const std::string& topic_dir, int32_t partition) {
  return topic_dir + "/" + std::to_string(partition);
}

std::string SegmentFileName(int64_t base_offset, SegmentFileKind kind) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%020lld%s", static_cast<long long>(base_offset), Suffix(kind));
  return buf;
}

std::string SegmentPath(const std::string& partition_dir, int64_t base_offset,
                        SegmentFileKind kind) {
  return partition_dir + "/" + SegmentFileName(base_offset, kind);
}

std::optional<int64_t> ParseSegmentFileName(std::string_view name, SegmentFileKind kind) {
  std::string_view suffix = Suffix(kind);
  if (name.size() != 20 + suffix.size() || name.substr(20) != suffix) return std::nullopt;
  int64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    if (v > (INT64_MAX - (c - '0')) / 10) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace runnel::storage
