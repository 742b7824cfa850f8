#include "broker/streams/stream_id.h"

#include <gtest/gtest.h>

namespace runnel::broker::streams {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

TEST(StreamIdTest, ParsesFullAndShortForms) {
  EXPECT_EQ(ParseStreamId("5-3", MissingSeq::kZero, false), (StreamId{5, 3}));
  EXPECT_EQ(ParseStreamId("5", MissingSeq::kZero, false), (StreamId{5, 0}));
  EXPECT_EQ(ParseStreamId("5", MissingSeq::kMax, false), (StreamId{5, kMax}));
  EXPECT_EQ(ParseStreamId("18446744073709551615-18446744073709551615", MissingSeq::kZero, false),
            StreamId::Max());
}

TEST(StreamIdTest, MinusAndPlusOnlyWhereAllowed) {
  EXPECT_EQ(ParseStreamId("-", MissingSeq::kZero, true), StreamId::Min());
  EXPECT_EQ(ParseStreamId("+", MissingSeq::kZero, true), StreamId::Max());
  EXPECT_FALSE(ParseStreamId("-", MissingSeq::kZero, false));
  EXPECT_FALSE(ParseStreamId("+", MissingSeq::kZero, false));
}

TEST(StreamIdTest, RejectsBadText) {
  for (const char* bad : {"", "a", "1-", "-1", "1-a", "1--2", " 1", "+1", "1-2-3",
                          "18446744073709551616", "1-18446744073709551616"}) {
    EXPECT_FALSE(ParseStreamId(bad, MissingSeq::kZero, false)) << bad;
  }
  EXPECT_FALSE(ParseStreamId(std::string(128, '1'), MissingSeq::kZero, false));
}

TEST(StreamIdTest, FormatsFullForm) {
  EXPECT_EQ((StreamId{5, 0}).ToString(), "5-0");
  EXPECT_EQ(StreamId::Max().ToString(), "18446744073709551615-18446744073709551615");
}

TEST(StreamIdTest, NextAndPrevCrossMsBoundaries) {
  EXPECT_EQ(*(StreamId{1, kMax}).Next(), (StreamId{2, 0}));
  EXPECT_FALSE(StreamId::Max().Next());
  EXPECT_EQ(*(StreamId{2, 0}).Prev(), (StreamId{1, kMax}));
  EXPECT_FALSE(StreamId::Min().Prev());
}

TEST(StreamIdTest, AutoIdUsesClockAndNeverGoesBack) {
  AddIdError err;
  AddIdSpec star{AddIdSpec::Kind::kAuto, {}};
  EXPECT_EQ(*NextAddId(star, {5, 3}, 10, &err), (StreamId{10, 0}));
  EXPECT_EQ(*NextAddId(star, {5, 3}, 5, &err), (StreamId{5, 4}));
  EXPECT_EQ(*NextAddId(star, {5, 3}, 1, &err), (StreamId{5, 4}));  // clock went back
  EXPECT_EQ(*NextAddId(star, {5, kMax}, 1, &err), (StreamId{6, 0}));
  EXPECT_FALSE(NextAddId(star, StreamId::Max(), 1, &err));
  EXPECT_EQ(err, AddIdError::kExhausted);
}

TEST(StreamIdTest, MsStarIncrementsSeqOrStartsAtZero) {
  AddIdError err;
  auto spec = *ParseAddId("5-*");
  EXPECT_EQ(spec.kind, AddIdSpec::Kind::kAutoSeq);
  EXPECT_EQ(*NextAddId(spec, {5, 3}, 0, &err), (StreamId{5, 4}));
  EXPECT_EQ(*NextAddId(spec, {4, 9}, 0, &err), (StreamId{5, 0}));
  EXPECT_FALSE(NextAddId(spec, {6, 0}, 0, &err));
  EXPECT_EQ(err, AddIdError::kNotGreater);
  EXPECT_FALSE(NextAddId(spec, {5, kMax}, 0, &err));
}

TEST(StreamIdTest, ExplicitIdMustBeGreaterThanLastAndZero) {
  AddIdError err;
  EXPECT_FALSE(NextAddId(*ParseAddId("0-0"), {}, 0, &err));
  EXPECT_EQ(err, AddIdError::kZero);
  EXPECT_FALSE(NextAddId(*ParseAddId("5-3"), {5, 3}, 0, &err));
  EXPECT_EQ(err, AddIdError::kNotGreater);
  EXPECT_EQ(*NextAddId(*ParseAddId("5"), {4, 3}, 0, &err), (StreamId{5, 0}));
  EXPECT_FALSE(ParseAddId("-"));
  EXPECT_FALSE(ParseAddId("a-*"));
  EXPECT_FALSE(ParseAddId("*-1"));
}

}  // namespace
}  // namespace runnel::broker::streams
