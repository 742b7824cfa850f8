#include "broker/streams/stream_entry.h"

#include <gtest/gtest.h>

namespace runnel::broker::streams {
namespace {

TEST(StreamEntryTest, EncodesIdAsKeyAndFieldsAsHeadersInOrder) {
  std::vector<std::string_view> fields = {"f", "1", "f", "2", "g", ""};
  EncodedEntry enc;
  EncodeEntry({7, 2}, fields, &enc);
  EXPECT_EQ(*enc.record.key, "7-2");
  ASSERT_TRUE(enc.record.value);
  EXPECT_EQ(*enc.record.value, "");
  ASSERT_EQ(enc.record.headers.size(), 3u);
  EXPECT_EQ(enc.record.headers[1].key, "f");
  EXPECT_EQ(*enc.record.headers[1].value, "2");
  EXPECT_EQ(enc.record.timestamp_ms, -1);

  enc.record.offset = 9;
  auto e = DecodeEntry(enc.record);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, (StreamId{7, 2}));
  EXPECT_EQ(e->offset, 9);
  EXPECT_EQ(e->fields, (std::vector<std::string>{"f", "1", "f", "2", "g", ""}));
}

TEST(StreamEntryTest, RecordsThatAreNotEntriesAreRecognised) {
  RecordView r;
  r.value = std::string_view("hello");
  EXPECT_FALSE(EntryIdOf(r));  // PUBLISH: no key
  r.key = std::string_view("hello");
  EXPECT_FALSE(EntryIdOf(r));
  r.key = std::string_view("01-1");
  EXPECT_FALSE(EntryIdOf(r));  // not canonical
  r.key = std::string_view("0-0");
  EXPECT_FALSE(EntryIdOf(r));
  r.key = std::string_view("5");
  EXPECT_FALSE(EntryIdOf(r));
  r.key = std::string_view("5-1");
  EXPECT_TRUE(EntryIdOf(r));
  r.value.reset();
  EXPECT_FALSE(EntryIdOf(r));  // tombstone
}

}  // namespace
}  // namespace runnel::broker::streams
