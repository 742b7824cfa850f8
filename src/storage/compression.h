// Decompression of Kafka record batches (attributes bits 0-2): gzip, snappy
// (raw, or the xerial "snappy-java" framing the Java client writes), lz4
// (the LZ4 frame format Kafka uses for magic 2) and zstd. Used wherever
// runnel itself reads records (Reader::ReadInto, `runnel consume --dir`,
// compaction); the Kafka Fetch path returns stored batches untouched and
// never calls it. Compression of the same four, for compaction, which
// rewrites a compressed batch that loses records with its own codec.
//
// Bounded: the output never grows past `max_bytes` — a batch that claims or
// expands to more is kTooLarge before it is allocated — and damaged input is
// kCorruption, never a crash. No allocation is sized from a length the input
// states.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "runnel/status.h"
#include "storage/batch_format.h"

namespace runnel::storage {

// The largest decompressed record section runnel accepts for one batch.
inline constexpr size_t kMaxDecompressedBytes = 64 << 20;

// What one batch of `records_count` records may decompress to on a topic
// whose records are at most max_message_bytes each: records_count records
// of the largest size, capped at kMaxDecompressedBytes.
size_t DecompressedLimit(int32_t records_count, int32_t max_message_bytes);

// Replaces *out with the decompressed `input`. kNotSupported for a codec
// other than gzip/snappy/lz4/zstd.
Status Decompress(Compression codec, std::string_view input, size_t max_bytes, std::string* out);

// How a snappy record section is framed: one raw block (librdkafka) or the
// xerial snappy-java stream (the Java client). A rewrite keeps the framing
// the producer chose, so its kind of client reads it as before.
enum class SnappyFraming : uint8_t { kRaw, kXerial };
SnappyFraming SnappyFramingOf(std::string_view compressed);

// Appends `input` compressed with `codec` to *out, in the stream format the
// Kafka clients write: a gzip member, a snappy block or xerial stream
// (`framing`), an LZ4 frame of independent 64 KiB blocks (what the Java
// client's reader requires), a zstd frame; default levels. kNone appends
// `input` as it is. kNotSupported for another codec; kIoError if a library
// fails (out is then as it was).
Status Compress(Compression codec, std::string_view input, std::string* out,
                SnappyFraming framing = SnappyFraming::kRaw);

}  // namespace runnel::storage
