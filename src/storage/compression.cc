#include "storage/compression.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <memory>

#include "util/bytes.h"

namespace runnel::storage {
namespace {

constexpr size_t kChunk = 64 << 10;
constexpr std::string_view kXerialMagic("\x82SNAPPY\0", 8);

Status TooBig(size_t max_bytes) {
  return Status::TooLarge("compressed batch expands past the limit of " +
                          std::to_string(max_bytes) + " bytes");
}

// Grows *out by up to kChunk (never past max_bytes + 1, so one byte too
// many is detectable) and returns the room now free; 0 = over the limit.
size_t Grow(std::string* out, size_t used, size_t max_bytes) {
  const size_t cap = max_bytes + 1;
  if (used >= cap) return 0;
  const size_t want = std::min(cap, used + kChunk);
  if (out->size() < want) out->resize(want);
  return out->size() - used;
}

Status Gunzip(std::string_view in, size_t max_bytes, std::string* out) {
  z_stream z{};
  // 15 + 32: a gzip or zlib header, detected (Kafka's is gzip).
  if (inflateInit2(&z, 15 + 32) != Z_OK) return Status::IoError("zlib: inflateInit2 failed");
  std::unique_ptr<z_stream, decltype(&inflateEnd)> guard(&z, inflateEnd);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  size_t used = 0;
  for (;;) {
    size_t room = Grow(out, used, max_bytes);
    if (room == 0) return TooBig(max_bytes);
    z.next_out = reinterpret_cast<Bytef*>(out->data() + used);
    z.avail_out = static_cast<uInt>(room);
    int rc = inflate(&z, Z_NO_FLUSH);
    used += room - z.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR && z.avail_in == 0) return Status::Corruption("gzip: truncated stream");
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return Status::Corruption(std::string("gzip: ") + (z.msg ? z.msg : "bad stream"));
    }
  }
  if (used > max_bytes) return TooBig(max_bytes);
  out->resize(used);
  return Status::OK();
}

Status SnappyBlock(std::string_view in, size_t max_bytes, std::string* out) {
  size_t n = 0;
  if (snappy_uncompressed_length(in.data(), in.size(), &n) != SNAPPY_OK) {
    return Status::Corruption("snappy: bad block header");
  }
  if (n > max_bytes - std::min(max_bytes, out->size())) return TooBig(max_bytes);
  const size_t at = out->size();
  out->resize(at + n);
  size_t got = n;
  if (snappy_uncompress(in.data(), in.size(), out->data() + at, &got) != SNAPPY_OK || got != n) {
    return Status::Corruption("snappy: bad block");
  }
  return Status::OK();
}

Status Unsnappy(std::string_view in, size_t max_bytes, std::string* out) {
  out->clear();
  // xerial snappy-java framing: magic, version, compatible version, then
  // blocks of int32 length + a raw snappy block.
  if (SnappyFramingOf(in) == SnappyFraming::kXerial) {
    size_t p = 16;
    while (p < in.size()) {
      if (in.size() - p < 4) return Status::Corruption("snappy: truncated block length");
      const uint32_t len = GetBE32(in.data() + p);
      p += 4;
      if (len > in.size() - p) return Status::Corruption("snappy: block runs past the batch");
      Status st = SnappyBlock(in.substr(p, len), max_bytes, out);
      if (!st.ok()) return st;
      p += len;
    }
    return Status::OK();
  }
  return SnappyBlock(in, max_bytes, out);
}

Status Unlz4(std::string_view in, size_t max_bytes, std::string* out) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) {
    return Status::IoError("lz4: cannot create a context");
  }
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> guard(
      ctx, LZ4F_freeDecompressionContext);
  size_t pos = 0, used = 0;
  for (;;) {
    size_t room = Grow(out, used, max_bytes);
    if (room == 0) return TooBig(max_bytes);
    size_t src = in.size() - pos, dst = room;
    size_t hint = LZ4F_decompress(ctx, out->data() + used, &dst, in.data() + pos, &src, nullptr);
    if (LZ4F_isError(hint)) {
      return Status::Corruption(std::string("lz4: ") + LZ4F_getErrorName(hint));
    }
    pos += src;
    used += dst;
    if (hint == 0) break;  // frame complete
    if (pos == in.size() && dst == 0) return Status::Corruption("lz4: truncated frame");
  }
  if (used > max_bytes) return TooBig(max_bytes);
  out->resize(used);
  return Status::OK();
}

Status Unzstd(std::string_view in, size_t max_bytes, std::string* out) {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  if (!ctx) return Status::IoError("zstd: cannot create a context");
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> guard(ctx, ZSTD_freeDCtx);
  // Bounds the decoder's window buffer too (a frame may ask for up to 2 GiB):
  // no larger than the output may be, but at least 4 MiB (2^22; zstd's
  // default window at the levels clients use is 2^21 or less).
  const int window_log = std::clamp(static_cast<int>(std::bit_width(max_bytes)), 22, 27);
  ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, window_log);
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  size_t used = 0;
  for (;;) {
    size_t room = Grow(out, used, max_bytes);
    if (room == 0) return TooBig(max_bytes);
    ZSTD_outBuffer ob{out->data() + used, room, 0};
    size_t rc = ZSTD_decompressStream(ctx, &ob, &ib);
    if (ZSTD_isError(rc)) return Status::Corruption(std::string("zstd: ") + ZSTD_getErrorName(rc));
    used += ob.pos;
    if (rc == 0 && ib.pos == ib.size) break;  // every frame complete
    if (ib.pos == ib.size && ob.pos < ob.size) return Status::Corruption("zstd: truncated frame");
  }
  if (used > max_bytes) return TooBig(max_bytes);
  out->resize(used);
  return Status::OK();
}

}  // namespace

size_t DecompressedLimit(int32_t records_count, int32_t max_message_bytes) {
  const uint64_t per = static_cast<uint64_t>(std::max(max_message_bytes, 1));
  const uint64_t n = static_cast<uint64_t>(std::max(records_count, 1));
  if (n > kMaxDecompressedBytes / per) return kMaxDecompressedBytes;
  return static_cast<size_t>(n * per);
}

namespace {

Status DecompressInto(Compression codec, std::string_view input, size_t max_bytes,
                      std::string* out) {
  switch (codec) {
    case Compression::kGzip:
      return Gunzip(input, max_bytes, out);
    case Compression::kSnappy:
      return Unsnappy(input, max_bytes, out);
    case Compression::kLz4:
      return Unlz4(input, max_bytes, out);
    case Compression::kZstd:
      return Unzstd(input, max_bytes, out);
    case Compression::kNone:
      if (input.size() > max_bytes) return TooBig(max_bytes);
      out->assign(input);
      return Status::OK();
  }
  return Status::NotSupported("unknown compression codec " +
                              std::to_string(static_cast<int>(codec)));
}

}  // namespace

Status Decompress(Compression codec, std::string_view input, size_t max_bytes, std::string* out) {
  out->clear();
  Status st = DecompressInto(codec, input, max_bytes, out);
  if (!st.ok()) out->clear();  // never a partial result
  return st;
}

}  // namespace runnel::storage

namespace runnel::storage {
namespace {

// snappy-java's default block: the uncompressed bytes per xerial block.
constexpr size_t kXerialBlock = 32 << 10;

Status Gzip(std::string_view in, std::string* out) {
  z_stream z{};
  // 15 + 16: a gzip header and trailer around the deflate stream.
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return Status::IoError("zlib: deflateInit2 failed");
  }
  std::unique_ptr<z_stream, decltype(&deflateEnd)> guard(&z, deflateEnd);
  const size_t at = out->size();
  // deflateBound covers the gzip wrapper of a stream set up as above.
  out->resize(at + deflateBound(&z, static_cast<uLong>(in.size())));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out->data() + at);
  z.avail_out = static_cast<uInt>(out->size() - at);
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
    out->resize(at);
    return Status::IoError("zlib: deflate did not finish within its bound");
  }
  out->resize(out->size() - z.avail_out);
  return Status::OK();
}

Status SnappyAppendBlock(std::string_view in, std::string* out) {
  const size_t at = out->size();
  size_t len = snappy_max_compressed_length(in.size());
  out->resize(at + len);
  if (snappy_compress(in.data(), in.size(), out->data() + at, &len) != SNAPPY_OK) {
    out->resize(at);
    return Status::IoError("snappy: compress failed");
  }
  out->resize(at + len);
  return Status::OK();
}

Status Snappy(std::string_view in, SnappyFraming framing, std::string* out) {
  if (framing == SnappyFraming::kRaw) return SnappyAppendBlock(in, out);
  // magic, version 1, compatible version 1, then int32 length + raw block.
  const size_t at = out->size();
  out->append(kXerialMagic);
  AppendBE32(out, 1);
  AppendBE32(out, 1);
  for (size_t p = 0; p < in.size(); p += kXerialBlock) {
    const size_t len_at = out->size();
    AppendBE32(out, 0);
    Status st = SnappyAppendBlock(in.substr(p, kXerialBlock), out);
    if (!st.ok()) {
      out->resize(at);
      return st;
    }
    PutBE32(out->data() + len_at, static_cast<uint32_t>(out->size() - len_at - 4));
  }
  return Status::OK();
}

Status Lz4(std::string_view in, std::string* out) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  // Kafka's Java reader decodes each block alone: linked blocks would fail there.
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  const size_t at = out->size();
  out->resize(at + LZ4F_compressFrameBound(in.size(), &prefs));
  const size_t n =
      LZ4F_compressFrame(out->data() + at, out->size() - at, in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) {
    out->resize(at);
    return Status::IoError(std::string("lz4: ") + LZ4F_getErrorName(n));
  }
  out->resize(at + n);
  return Status::OK();
}

Status Zstd(std::string_view in, std::string* out) {
  const size_t at = out->size();
  out->resize(at + ZSTD_compressBound(in.size()));
  const size_t n =
      ZSTD_compress(out->data() + at, out->size() - at, in.data(), in.size(), ZSTD_CLEVEL_DEFAULT);
  if (ZSTD_isError(n)) {
    out->resize(at);
    return Status::IoError(std::string("zstd: ") + ZSTD_getErrorName(n));
  }
  out->resize(at + n);
  return Status::OK();
}

}  // namespace

SnappyFraming SnappyFramingOf(std::string_view compressed) {
  return compressed.size() >= 16 && compressed.substr(0, 8) == kXerialMagic
             ? SnappyFraming::kXerial
             : SnappyFraming::kRaw;
}

Status Compress(Compression codec, std::string_view input, std::string* out,
                SnappyFraming framing) {
  switch (codec) {
    case Compression::kGzip:
      return Gzip(input, out);
    case Compression::kSnappy:
      return Snappy(input, framing, out);
    case Compression::kLz4:
      return Lz4(input, out);
    case Compression::kZstd:
      return Zstd(input, out);
    case Compression::kNone:
      out->append(input);
      return Status::OK();
  }
  return Status::NotSupported("unknown compression codec " +
                              std::to_string(static_cast<int>(codec)));
}

}  // namespace runnel::storage
