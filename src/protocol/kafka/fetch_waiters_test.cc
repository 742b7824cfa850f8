#include "protocol/kafka/fetch_waiters.h"

#include <gtest/gtest.h>

namespace runnel::kafka {
namespace {

TEST(FetchWaitersTest, NotifyWakesEveryWaiterOfThePartitionOnce) {
  FetchWaiters w;
  int woken = 0;
  FetchWaiters::Key k("t", 0), other("t", 1);
  ASSERT_TRUE(w.Register(1, {k}, {w.Version(k)}, [&] { woken++; }));
  ASSERT_TRUE(w.Register(2, {k, other}, {w.Version(k), w.Version(other)}, [&] { woken++; }));
  w.Notify("t", 1);
  EXPECT_EQ(woken, 1);
  w.Notify("t", 0);
  EXPECT_EQ(woken, 3);  // waiter 2 stays on partition 0 until woken there or cancelled
  w.Notify("t", 0);
  EXPECT_EQ(woken, 3);
}

TEST(FetchWaitersTest, RegisterRefusesWhenAnAppendRacedTheRead) {
  FetchWaiters w;
  FetchWaiters::Key k("t", 0);
  uint64_t seen = w.Version(k);
  w.Notify("t", 0);
  EXPECT_FALSE(w.Register(1, {k}, {seen}, [] {}));
  EXPECT_EQ(w.waiting(), 0u);
}

TEST(FetchWaitersTest, CancelRemovesTheWaiterEverywhere) {
  FetchWaiters w;
  FetchWaiters::Key a("a", 0), b("b", 0);
  ASSERT_TRUE(w.Register(7, {a, b}, {0, 0}, [] { FAIL(); }));
  EXPECT_EQ(w.waiting(), 2u);
  w.Cancel(7, {a, b});
  EXPECT_EQ(w.waiting(), 0u);
  w.Notify("a", 0);
}

}  // namespace
}  // namespace runnel::kafka
