#include "protocol/kafka/frame.h"

#include "protocol/kafka/wire.h"

namespace runnel::kafka {

FrameStatus NextFrame(std::string_view input, size_t max_bytes, std::string_view* frame,
                      size_t* need, size_t min_bytes) {
  if (input.size() < 4) {
    *need = 4;
    return FrameStatus::kNeedMore;
  }
  Decoder d(input.substr(0, 4));
  const int32_t size = d.Int32();
  if (size < 0 || static_cast<size_t>(size) < min_bytes || static_cast<size_t>(size) > max_bytes) {
    return FrameStatus::kBad;
  }
  const size_t total = 4 + static_cast<size_t>(size);
  if (input.size() < total) {
    *need = total;
    return FrameStatus::kNeedMore;
  }
  *frame = input.substr(4, static_cast<size_t>(size));
  return FrameStatus::kFrame;
}

bool ParseRequestHeader(std::string_view frame, RequestHeader* out, size_t* body_offset) {
  Decoder d(frame);
  out->api_key = d.Int16();
  out->api_version = d.Int16();
  out->correlation_id = d.Int32();
  // client_id stays a non-compact STRING even in header v2.
  out->client_id = d.NullableString(/*flexible=*/false);
  if (!d.ok()) return false;
  *body_offset = d.position();
  return true;
}

size_t BeginResponse(std::string* out, int32_t correlation_id, bool header_v1) {
  const size_t start = out->size();
  Encoder e(out);
  e.Int32(0);
  e.Int32(correlation_id);
  if (header_v1) e.EmptyTaggedFields();
  return start;
}

void FinishResponse(std::string* out, size_t start) {
  Encoder(out).PatchInt32(start, static_cast<int32_t>(out->size() - start - 4));
}

}  // namespace runnel::kafka
