// Legacy Kafka message sets (magic 0 and 1), which Produce v0-v2 carry, and
// their up-conversion into one magic-2 RecordBatch — what a Kafka 3.x broker
// with message format v2 does on produce (docs/protocols/kafka.md, "Legacy
// message sets").
//
// A message set is a sequence of
//
//   offset int64, message_size int32, crc uint32 (CRC-32 IEEE of the bytes
//   after it), magic int8 (0 or 1), attributes int8 (bits 0-2 codec; magic 1:
//   bit 3 timestamp type), [magic 1: timestamp int64], key bytes, value bytes
//
// A message whose codec is not "none" is a wrapper: its value is a whole
// inner message set compressed with that codec (gzip, snappy raw or xerial,
// lz4 frame; magic 0 lz4 frames carry the broken header checksum of
// KAFKA-3160, which is not checked). Inner messages must be uncompressed and
// of the wrapper's magic: one level of nesting. Offsets the producer put in
// the set are ignored; the records get 0..n-1 relative to the batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/kafka/api.h"

namespace runnel::kafka {

struct LegacyConversion {
  ErrorCode error = ErrorCode::kNone;
  std::string detail;  // what was wrong, for the log; empty on success
  int32_t records = 0;
};

// Validates `message_set` and appends to *batch one RecordBatch v2 holding
// all its messages in order: uncompressed plain messages (all of one
// magic), or the inner messages of a compressed wrapper that is alone in
// the set (as Kafka requires), compressed again with its codec (snappy in
// the wrapper's framing). Keys and values as sent, no headers. Timestamps: a magic-1
// message keeps its own (CreateTime); under a wrapper marked LogAppendTime
// the inner messages take the wrapper's timestamp; magic 0 (and a negative
// magic-1 timestamp) becomes now_ms. Decompressed inner sets may total at
// most max_decompressed bytes.
//
// Errors (batch untouched): kCorruptMessage for damaged bytes (truncation, a
// size below a message's minimum or past the set, bad CRC, a length that
// does not add up, an unknown codec, data the codec rejects);
// kInvalidRecord for an empty set, magic >= 2, magic 0 and 1 mixed, a
// wrapper with company, a compressed inner message, an inner magic that
// differs from its wrapper's, an empty or null wrapper value;
// kInvalidTimestamp for a message marked LogAppendTime whose timestamp
// reads as -1; kUnsupportedCompressionType for zstd (magic 2 only);
// kMessageTooLarge when decompression would pass max_decompressed.
LegacyConversion UpConvertMessageSet(std::string_view message_set, int64_t now_ms,
                                     size_t max_decompressed, std::string* batch);

// The KAFKA-3160 fix-up: if `frame` is an LZ4 frame with a header checksum
// byte, replaces that byte with the correct one (xxHash32 of the frame
// descriptor). Old magic-0 writers hashed the magic number too; Kafka's
// reader skips the check for magic 0 and so does this. False if `frame` is
// not an LZ4 frame header.
bool RepairLz4HeaderChecksum(std::string* frame);

// xxHash32 (the LZ4 frame format's header checksum), exposed for tests.
uint32_t XxHash32(std::string_view data, uint32_t seed);

}  // namespace runnel::kafka
