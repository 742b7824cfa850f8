#include "util/fault_injection_env.h"

#include <gtest/gtest.h>

#include <stdlib.h>
#include <string>
#include <thread>
#include <vector>

namespace runnel {
namespace {

class FaultInjectionEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "runnel_fault_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { EXPECT_TRUE(Env::Default()->RemoveDirRecursive(dir_).ok()); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::unique_ptr<File> Open(const std::string& name, OpenMode mode = OpenMode::kCreate) {
    auto f = env_.OpenFile(Path(name), mode);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? std::move(f).value() : nullptr;
  }

  // Contents as the real file system has them, or "<missing>".
  std::string Contents(const std::string& name) {
    auto f = Env::Default()->OpenFile(Path(name), OpenMode::kRead);
    if (!f.ok()) return "<missing>";
    std::string out(*(*f)->Size(), '\0');
    out.resize(*(*f)->ReadAt(0, out.data(), out.size()));
    return out;
  }

  std::string dir_;
  FaultInjectionEnv env_;
};

TEST_F(FaultInjectionEnvTest, UnsyncedAppendIsDroppedAndSyncedBytesAreKept) {
  {
    auto f = Open("a.log");
    ASSERT_TRUE(env_.SyncDir(dir_).ok());
    ASSERT_TRUE(f->Append("synced").ok());
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(f->Append("-lost").ok());
    EXPECT_EQ(Contents("a.log"), "synced-lost") << "nothing is dropped before the power cut";
  }
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ(Contents("a.log"), "synced");
}

TEST_F(FaultInjectionEnvTest, NewFileIsDeletedWhenItsDirectoryWasNeverSynced) {
  {
    auto f = Open("new.log");
    ASSERT_TRUE(f->Append("data").ok());
    ASSERT_TRUE(f->Sync().ok());
  }
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_FALSE(env_.FileExists(Path("new.log")));
}

TEST_F(FaultInjectionEnvTest, NewFileSurvivesSyncDirButNotItsUnsyncedBytes) {
  {
    auto f = Open("new.log");
    ASSERT_TRUE(f->Append("data").ok());
    ASSERT_TRUE(env_.SyncDir(dir_ + "/").ok());
  }
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ(Contents("new.log"), "");
}

TEST_F(FaultInjectionEnvTest, SyncDirOfAnotherDirectoryDoesNotSaveTheFile) {
  ASSERT_TRUE(env_.CreateDirs(Path("sub")).ok());
  {
    auto f = Open("sub/x");
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(env_.SyncDir(dir_).ok());
  }
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_FALSE(env_.FileExists(Path("sub/x")));
  EXPECT_TRUE(env_.FileExists(Path("sub")));
}

TEST_F(FaultInjectionEnvTest, WriteAtAfterTheLastSyncIsLostWhole) {
  {
    auto f = Open("hwm");
    ASSERT_TRUE(env_.SyncDir(dir_).ok());
    ASSERT_TRUE(f->Append("hello world").ok());
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(f->WriteAt(0, "HELLO").ok());
    ASSERT_TRUE(f->WriteAt(2, "xx").ok());
    ASSERT_TRUE(f->WriteAt(6, "WORLD, extended").ok());
    EXPECT_EQ(Contents("hwm"), "HExxO WORLD, extended");
  }
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ(Contents("hwm"), "hello world");
}

TEST_F(FaultInjectionEnvTest, WriteAtFollowedBySyncIsKept) {
  {
    auto f = Open("hwm");
    ASSERT_TRUE(env_.SyncDir(dir_).ok());
    ASSERT_TRUE(f->Append("version-1").ok());
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(f->WriteAt(8, "2").ok());
    ASSERT_TRUE(f->Sync().ok());
  }
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ(Contents("hwm"), "version-2");
}

TEST_F(FaultInjectionEnvTest, FileThatPredatesTheEnvCountsAsDurable) {
  {
    auto f = Env::Default()->OpenFile(Path("old"), OpenMode::kCreate);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append("before").ok());
  }
  {
    auto f = Open("old", OpenMode::kReadWrite);
    ASSERT_TRUE(f->Append("+after").ok());
  }
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ(Contents("old"), "before");
}

TEST_F(FaultInjectionEnvTest, RenameCarriesTrackingToTheNewName) {
  {
    auto f = Open("tmp");
    ASSERT_TRUE(f->Append("meta").ok());
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(env_.Rename(Path("tmp"), Path("final")).ok());
    ASSERT_TRUE(f->Append("-unsynced").ok());  // the open handle follows the rename
  }
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_FALSE(env_.FileExists(Path("tmp")));
  EXPECT_EQ(Contents("final"), "meta");
}

TEST_F(FaultInjectionEnvTest, ShrinkingTruncateIsKept) {
  {
    auto f = Open("t");
    ASSERT_TRUE(env_.SyncDir(dir_).ok());
    ASSERT_TRUE(f->Append("0123456789").ok());
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(f->WriteAt(2, "ab").ok());
    ASSERT_TRUE(f->Truncate(3).ok());
    ASSERT_TRUE(f->Append("XYZ").ok());
  }
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ(Contents("t"), "012");
}

TEST_F(FaultInjectionEnvTest, RemovedFilesStayRemoved) {
  ASSERT_TRUE(env_.CreateDirs(Path("d")).ok());
  {
    auto a = Open("a");
    auto b = Open("d/b");
    ASSERT_TRUE(env_.SyncDir(dir_).ok());
    ASSERT_TRUE(env_.SyncDir(Path("d")).ok());
  }
  ASSERT_TRUE(env_.RemoveFile(Path("a")).ok());
  ASSERT_TRUE(env_.RemoveDirRecursive(Path("d")).ok());
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_FALSE(env_.FileExists(Path("a")));
  EXPECT_FALSE(env_.FileExists(Path("d")));
}

TEST_F(FaultInjectionEnvTest, InjectedNoSpaceSurfacesAsNoSpaceAfterTheAllowedWrites) {
  auto f = Open("full.log");
  env_.SetWriteError(StatusCode::kNoSpace, 1);
  ASSERT_TRUE(f->Append("ok").ok());
  Status s = f->Append("fails");
  EXPECT_EQ(s.code(), StatusCode::kNoSpace);
  EXPECT_NE(s.message().find("write " + Path("full.log") + ": No space left on device"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(f->WriteAt(0, "x").code(), StatusCode::kNoSpace) << "stays full";
  EXPECT_EQ(Contents("full.log"), "ok") << "a failed write writes nothing";
  env_.ClearErrors();
  EXPECT_TRUE(f->Append("!").ok());
  EXPECT_EQ(env_.writes(), 4);
}

TEST_F(FaultInjectionEnvTest, InjectedSyncErrorLeavesTheBytesUnsynced) {
  {
    auto f = Open("s.log");
    ASSERT_TRUE(env_.SyncDir(dir_).ok());
    ASSERT_TRUE(f->Append("a").ok());
    ASSERT_TRUE(f->Sync().ok());
    env_.SetSyncError(StatusCode::kIoError);
    ASSERT_TRUE(f->Append("b").ok());
    Status s = f->Sync();
    EXPECT_EQ(s.code(), StatusCode::kIoError);
    EXPECT_NE(s.message().find("fdatasync " + Path("s.log")), std::string::npos);
    env_.ClearErrors();
  }
  EXPECT_EQ(env_.syncs(), 2);
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ(Contents("s.log"), "a");
}

TEST_F(FaultInjectionEnvTest, SurvivorsCountAsSyncedAfterADrop) {
  {
    auto f = Open("x");
    ASSERT_TRUE(env_.SyncDir(dir_).ok());
    ASSERT_TRUE(f->Append("abc").ok());
    ASSERT_TRUE(f->Sync().ok());
  }
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ(Contents("x"), "abc");
}

TEST_F(FaultInjectionEnvTest, ConcurrentWritersAreCountedExactly) {
  constexpr int kThreads = 4;
  constexpr int kWrites = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      auto f = Open(std::to_string(t) + ".log");
      for (int i = 0; i < kWrites; ++i) {
        ASSERT_TRUE(f->Append("x").ok());
        if (i % 50 == 0) {
          ASSERT_TRUE(f->Sync().ok());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(env_.writes(), kThreads * kWrites);
  EXPECT_EQ(env_.syncs(), kThreads * (kWrites / 50));
  ASSERT_TRUE(env_.SyncDir(dir_).ok());
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ(Contents("0.log"), std::string(151, 'x'));
}

}  // namespace
}  // namespace runnel
