// Names on disk, produced and parsed in this one file. See docs/format/data-dir.md.
//
//   <data>/RUNNEL                             marker: "runnel data directory v1\n"
//   <data>/meta/topics/0/...                  internal compacted topic of topic configs
//   <data>/meta/admin.lock                    flock serialising topic create/delete
//   <data>/topics/<escaped-name>/topic.name   the raw topic name bytes
//   <data>/topics/<escaped-name>/<p>/         one partition:
//        <20-digit base offset>.log .index .timeindex, writer.lock, hwm,
//        log_start (only once records were deleted before an offset)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace runnel::storage {

inline constexpr std::string_view kMarkerFile = "RUNNEL";
inline constexpr std::string_view kMarkerContent = "runnel data directory v1\n";
inline constexpr std::string_view kTopicNameFile = "topic.name";
inline constexpr std::string_view kWriterLockFile = "writer.lock";
inline constexpr std::string_view kHwmFile = "hwm";
inline constexpr std::string_view kLogStartFile = "log_start";  // log_start_file.h
inline constexpr size_t kMaxEscapedNameBytes = 200;

enum class SegmentFileKind : uint8_t { kLog, kIndex, kTimeIndex };

// Topic name -> directory entry name. Bytes [A-Za-z0-9_-] and '.' (except as
// the first byte) stand for themselves; every other byte is %XX (uppercase
// hex). The mapping is injective. Names whose escaped form exceeds
// kMaxEscapedNameBytes keep a prefix and end in "~" + 16 hex digits of a
// 64-bit FNV-1a hash of the raw name; topic.name in the directory holds the
// raw bytes so a hash collision is detected, never silent.
std::string EscapeTopicName(std::string_view name);

std::string TopicsDir(const std::string& data);
std::string MetaDir(const std::string& data);
std::string TopicDir(const std::string& data, std::string_view topic_name);
std::string PartitionDir(const std::string& topic_dir, int32_t partition);
std::string SegmentFileName(int64_t base_offset, SegmentFileKind kind);
std::string SegmentPath(const std::string& partition_dir, int64_t base_offset,
                        SegmentFileKind kind);

// Parses "<20 digits>.log" (etc.) into the base offset; nullopt for other names.
std::optional<int64_t> ParseSegmentFileName(std::string_view name, SegmentFileKind kind);

}  // namespace runnel::storage
