// Kafka request framing and headers (reference/kafka.md §1).
//
//   frame          = int32 size (bytes after itself, big-endian) + header + body
//   header v1      = int16 api_key, int16 api_version, int32 correlation_id,
//                    nullable STRING client_id (int16 length)
//   header v2      = header v1 + TAGGED_FIELDS   (flexible API versions)
//   response v0    = int32 correlation_id
//   response v1    = response v0 + TAGGED_FIELDS (flexible, but never ApiVersions)
//
// A frame whose size is negative, smaller than a header, or larger than the
// limit cannot be resynchronised: the connection is closed before anything
// is allocated for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace runnel::kafka {

inline constexpr size_t kDefaultMaxRequestBytes = 104857600;  // socket.request.max.bytes
inline constexpr size_t kMinRequestHeaderBytes = 10;          // key, version, correlation, client

enum class FrameStatus : uint8_t {
  kFrame,     // *frame holds one whole request (without the size prefix)
  kNeedMore,  // *need = total input bytes needed
  kBad,       // negative, too small or over the limit: close
};

// Looks at the front of `input` for one frame of min_bytes..max_bytes
// (a raw SASL token, reference/kafka.md §7, may be shorter than a header).
FrameStatus NextFrame(std::string_view input, size_t max_bytes, std::string_view* frame,
                      size_t* need, size_t min_bytes = kMinRequestHeaderBytes);

struct RequestHeader {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string_view> client_id;
};

// Parses the fixed part (v1). `*body_offset` is where the tagged fields
// (flexible) or the body begin. False if the frame is too short.
bool ParseRequestHeader(std::string_view frame, RequestHeader* out, size_t* body_offset);

// Starts a response frame in *out: a size placeholder and the correlation
// id (+ empty tags for response header v1). FinishResponse fills the size.
size_t BeginResponse(std::string* out, int32_t correlation_id, bool header_v1);
void FinishResponse(std::string* out, size_t start);

}  // namespace runnel::kafka
