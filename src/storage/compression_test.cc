// Decompression of Kafka batches: each codec round-trips, output is bounded
// (a small batch that expands past the limit is refused before it is
// allocated), and damaged input is an error, never a crash. Then a
// compressed batch appended raw reads back as records through the Reader.
#include "storage/compression.h"

#include "storage/batch_format.h"
#include "storage/test_util.h"
#include "util/bytes.h"
#include "util/crc32c.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <gtest/gtest.h>

#include <future>
#include <random>

namespace runnel::storage {
namespace {

std::string Gzip(std::string_view in) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string Snappy(std::string_view in) {
  size_t n = snappy_max_compressed_length(in.size());
  std::string out(n, '\0');
  EXPECT_EQ(snappy_compress(in.data(), in.size(), out.data(), &n), SNAPPY_OK);
  out.resize(n);
  return out;
}

// The xerial framing snappy-java writes: header, then length-prefixed blocks.
std::string XerialSnappy(std::string_view in) {
  std::string out("\x82SNAPPY\0", 8);
  AppendBE32(&out, 1);
  AppendBE32(&out, 1);
  for (size_t p = 0; p < in.size(); p += 1000) {
    std::string block = Snappy(in.substr(p, 1000));
    AppendBE32(&out, static_cast<uint32_t>(block.size()));
    out += block;
  }
  return out;
}

std::string Lz4(std::string_view in) {
  std::string out(LZ4F_compressFrameBound(in.size(), nullptr), '\0');
  size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), nullptr);
  EXPECT_FALSE(LZ4F_isError(n));
  out.resize(n);
  return out;
}

std::string Zstd(std::string_view in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

std::string Text(size_t n) {
  std::mt19937 rng(7);
  std::string s;
  while (s.size() < n) s += "record-" + std::to_string(rng() % 1000) + ";";
  s.resize(n);
  return s;
}

struct Codec {
  Compression codec;
  std::string (*compress)(std::string_view);
};
const Codec kCodecs[] = {{Compression::kGzip, Gzip},
                         {Compression::kSnappy, Snappy},
                         {Compression::kSnappy, XerialSnappy},
                         {Compression::kLz4, Lz4},
                         {Compression::kZstd, Zstd}};

TEST(CompressionTest, EveryCodecRoundTrips) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{100}, size_t{300'000}}) {
    const std::string text = Text(size);
    for (const Codec& c : kCodecs) {
      std::string out;
      Status st = Decompress(c.codec, c.compress(text), 1 << 20, &out);
      ASSERT_TRUE(st.ok()) << static_cast<int>(c.codec) << " " << size << ": " << st.ToString();
      EXPECT_EQ(out, text);
    }
  }
}

TEST(CompressionTest, OutputIsBoundedByTheLimit) {
  const std::string zeros(4 << 20, '\0');  // compresses to a few KiB
  for (const Codec& c : kCodecs) {
    std::string packed = c.compress(zeros);
    ASSERT_LT(packed.size(), 300'000u);
    std::string out;
    Status st = Decompress(c.codec, packed, 1 << 20, &out);
    EXPECT_TRUE(st.Is(StatusCode::kTooLarge)) << static_cast<int>(c.codec) << st.ToString();
    // Never grown much past the limit on the way.
    EXPECT_LE(out.capacity(), (2u << 20) + (64u << 10));
    EXPECT_TRUE(Decompress(c.codec, packed, zeros.size(), &out).ok());
  }
}

TEST(CompressionTest, DamagedInputIsAnErrorNotACrash) {
  const std::string text = Text(20'000);
  std::mt19937 rng(11);
  for (const Codec& c : kCodecs) {
    const std::string packed = c.compress(text);
    std::string out;
    for (size_t cut = 0; cut < packed.size(); cut += 1 + packed.size() / 50) {
      // A cut stream never decompresses to the whole text (it may be an
      // error or, for a lucky cut, a shorter output).
      Status st = Decompress(c.codec, packed.substr(0, cut), 1 << 20, &out);
      EXPECT_TRUE(!st.ok() || out != text) << static_cast<int>(c.codec) << " cut " << cut;
    }
    for (int i = 0; i < 200; ++i) {
      std::string bad = packed;
      bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
      (void)Decompress(c.codec, bad, 1 << 20, &out);  // must not crash or overrun
      EXPECT_LE(out.size(), size_t{1} << 20);
    }
  }
  std::string out;
  EXPECT_FALSE(Decompress(Compression::kGzip, "not gzip at all", 1 << 20, &out).ok());
  EXPECT_FALSE(Decompress(Compression::kLz4, "not lz4", 1 << 20, &out).ok());
  EXPECT_FALSE(Decompress(Compression::kZstd, "not zstd", 1 << 20, &out).ok());
  EXPECT_FALSE(Decompress(Compression::kSnappy, "\xff\xff\xff\xff\x0f", 1 << 20, &out).ok());
  EXPECT_TRUE(Decompress(static_cast<Compression>(6), "x", 1 << 20, &out).Is(
      StatusCode::kNotSupported));
}

TEST(CompressionTest, CompressRoundTripsThroughDecompressForEveryCodec) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{100}, size_t{300'000}}) {
    const std::string text = Text(size);
    for (Compression codec : {Compression::kNone, Compression::kGzip, Compression::kSnappy,
                              Compression::kLz4, Compression::kZstd}) {
      for (SnappyFraming framing : {SnappyFraming::kRaw, SnappyFraming::kXerial}) {
        std::string packed = "kept";  // Compress appends
        ASSERT_TRUE(Compress(codec, text, &packed, framing).ok());
        ASSERT_EQ(packed.substr(0, 4), "kept");
        packed.erase(0, 4);
        if (codec == Compression::kSnappy) {
          EXPECT_EQ(SnappyFramingOf(packed), framing);
        }
        std::string out;
        Status st = Decompress(codec, packed, 1 << 20, &out);
        ASSERT_TRUE(st.ok()) << static_cast<int>(codec) << " " << size << ": " << st.ToString();
        EXPECT_EQ(out, text);
      }
    }
  }
  std::string out;
  EXPECT_TRUE(Compress(static_cast<Compression>(6), "x", &out).Is(StatusCode::kNotSupported));
}

TEST(CompressionTest, Lz4FramesHaveIndependentBlocksAsKafkasJavaReaderNeeds) {
  std::string packed;
  ASSERT_TRUE(Compress(Compression::kLz4, Text(200'000), &packed).ok());
  ASSERT_GE(packed.size(), 7u);
  EXPECT_EQ(GetBE32(packed.data()), 0x04224D18u);  // magic 0x184D2204, little-endian
  const uint8_t flg = static_cast<uint8_t>(packed[4]);
  EXPECT_EQ(flg >> 6, 1);         // version 01
  EXPECT_TRUE(flg & 0x20);        // block independence
  EXPECT_FALSE(flg & 0x04);       // no content checksum
  const uint8_t bd = static_cast<uint8_t>(packed[5]);
  EXPECT_EQ((bd >> 4) & 0x7, 4);  // 64 KiB blocks
}

TEST(CompressionTest, DecompressedLimitFollowsMaxMessageBytes) {
  EXPECT_EQ(DecompressedLimit(1, 1000), 1000u);
  EXPECT_EQ(DecompressedLimit(10, 1000), 10'000u);
  EXPECT_EQ(DecompressedLimit(0, 1000), 1000u);
  EXPECT_EQ(DecompressedLimit(INT32_MAX, INT32_MAX), kMaxDecompressedBytes);
}

// A Kafka client's compressed batch: the records section compressed.
std::string CompressedBatch(const std::vector<std::string>& values, const Codec& c) {
  std::vector<RecordView> views;
  for (auto& v : values) views.push_back(testing::ValueView(v));
  std::string plain;
  EncodeBatch(0, views, 1'700'000'000'000, &plain);
  std::string out = plain.substr(0, kBatchHeaderSize) + c.compress(plain.substr(kBatchHeaderSize));
  PutBE32(out.data() + kBatchLengthOffset, static_cast<uint32_t>(out.size() - kLogOverhead));
  PutBE16(out.data() + kAttributesOffset, static_cast<uint16_t>(c.codec));
  PutBE32(out.data() + kCrcOffset,
          crc32c::Value(out.data() + kAttributesOffset, out.size() - kAttributesOffset));
  return out;
}

TEST(CompressionTest, ReaderDecodesCompressedBatchesAndSkipsBadOnes) {
  testing::TempDir dir;
  auto log = Log::Open(dir.path(), {});
  ASSERT_TRUE(log.ok());
  TopicConfig config;
  config.max_message_bytes = 4096;
  ASSERT_TRUE((*log)->CreateTopic("t", config).ok());
  auto p = (*log)->NewProducer("t", false);
  ASSERT_TRUE(p.ok());
  auto append = [&](std::string batch) {
    std::promise<Result<int64_t>> done;
    auto f = done.get_future();
    (*p)->AppendRawAsync(0, std::move(batch),
                         [&done](Result<int64_t> r) { done.set_value(std::move(r)); });
    return f.get();
  };
  std::vector<std::string> want;
  for (const Codec& c : kCodecs) {
    std::vector<std::string> values = {"v" + std::to_string(want.size()), Text(500)};
    ASSERT_TRUE(append(CompressedBatch(values, c)).ok());
    want.insert(want.end(), values.begin(), values.end());
  }
  // One record that expands past the topic's limit (records x 4096 bytes):
  // stored (produce checks only the compressed size), but not decoded.
  ASSERT_TRUE(append(CompressedBatch({std::string(100'000, 'z')}, kCodecs[4])).ok());
  ASSERT_TRUE(append(CompressedBatch({"after"}, kCodecs[0])).ok());
  want.push_back("after");
  std::vector<Record> got = testing::ReadAll(log->get(), "t");
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i].value, want[i]) << i;
}

}  // namespace
}  // namespace runnel::storage
