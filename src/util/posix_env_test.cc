#include "util/env.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits.h>
#include <stdlib.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace runnel {
namespace {

class PosixEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "runnel_env_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { EXPECT_TRUE(env_->RemoveDirRecursive(dir_).ok()); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::unique_ptr<File> Open(const std::string& name, OpenMode mode) {
    auto f = env_->OpenFile(Path(name), mode);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? std::move(f).value() : nullptr;
  }

  std::string ReadAll(File* f) {
    auto size = f->Size();
    EXPECT_TRUE(size.ok());
    std::string out(*size, '\0');
    auto n = f->ReadAt(0, out.data(), out.size());
    EXPECT_TRUE(n.ok());
    out.resize(*n);
    return out;
  }

  void WriteFile(const std::string& name, std::string_view data) {
    auto f = Open(name, OpenMode::kCreate);
    ASSERT_TRUE(f->Append(data).ok());
  }

  Env* env_ = Env::Default();
  std::string dir_;
};

TEST_F(PosixEnvTest, DefaultIsOneProcessWideInstance) { EXPECT_EQ(Env::Default(), Env::Default()); }

TEST_F(PosixEnvTest, AppendedPartsReadBackInOrder) {
  auto f = Open("a.log", OpenMode::kCreateNew);
  const std::string_view parts[] = {"hello", "", " ", "world"};
  ASSERT_TRUE(f->Append(parts).ok());
  ASSERT_TRUE(f->Append("!").ok());
  EXPECT_EQ(ReadAll(f.get()), "hello world!");
  EXPECT_EQ(*f->Size(), 12u);
  EXPECT_EQ(f->path(), Path("a.log"));
}

TEST_F(PosixEnvTest, AppendOfMorePartsThanIovMaxWritesEveryPart) {
  auto f = Open("many.log", OpenMode::kCreate);
  std::vector<std::string> owned;
  for (int i = 0; i < 3 * IOV_MAX + 7; ++i) owned.push_back(std::to_string(i) + ",");
  std::vector<std::string_view> parts(owned.begin(), owned.end());
  ASSERT_TRUE(f->Append(parts).ok());
  std::string want;
  for (const auto& s : owned) want += s;
  EXPECT_EQ(ReadAll(f.get()), want);
}

TEST_F(PosixEnvTest, ReadAtPastTheEndReturnsAShortCount) {
  WriteFile("short.log", "0123456789");
  auto f = Open("short.log", OpenMode::kRead);
  char buf[32];
  auto n = f->ReadAt(6, buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "6789");
  n = f->ReadAt(100, buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_F(PosixEnvTest, WriteAtOverwritesAndExtendsAndAppendFollowsTheNewEnd) {
  auto f = Open("w.log", OpenMode::kCreate);
  ASSERT_TRUE(f->Append("aaaaaa").ok());
  ASSERT_TRUE(f->WriteAt(2, "BB").ok());
  ASSERT_TRUE(f->WriteAt(5, "CCC").ok());
  ASSERT_TRUE(f->Append("d").ok());
  EXPECT_EQ(ReadAll(f.get()), "aaBBaCCCd");
}

TEST_F(PosixEnvTest, TruncateShrinksAndAppendContinuesAtTheNewEnd) {
  auto f = Open("t.log", OpenMode::kCreate);
  ASSERT_TRUE(f->Append("0123456789").ok());
  ASSERT_TRUE(f->Truncate(4).ok());
  EXPECT_EQ(*f->Size(), 4u);
  ASSERT_TRUE(f->Append("xy").ok());
  ASSERT_TRUE(f->Sync().ok());
  EXPECT_EQ(ReadAll(f.get()), "0123xy");
}

TEST_F(PosixEnvTest, CreateModeKeepsExistingContentsAndAppendsAtTheEnd) {
  WriteFile("c.log", "abc");
  auto f = Open("c.log", OpenMode::kCreate);
  ASSERT_TRUE(f->Append("def").ok());
  EXPECT_EQ(ReadAll(f.get()), "abcdef");
}

TEST_F(PosixEnvTest, OpeningAMissingFileIsNotFoundAndNamesThePath) {
  for (OpenMode mode : {OpenMode::kRead, OpenMode::kReadWrite}) {
    auto f = env_->OpenFile(Path("missing"), mode);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
    EXPECT_EQ(f.status().message(), "open " + Path("missing") + ": No such file or directory");
  }
  EXPECT_FALSE(env_->FileExists(Path("missing")));
}

TEST_F(PosixEnvTest, CreateNewOnAnExistingFileIsAlreadyExists) {
  WriteFile("x", "1");
  auto f = env_->OpenFile(Path("x"), OpenMode::kCreateNew);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kAlreadyExists) << f.status().ToString();
}

TEST_F(PosixEnvTest, OpeningADirectoryAsAFileFails) {
  auto f = env_->OpenFile(dir_, OpenMode::kRead);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kIoError);
  EXPECT_NE(f.status().message().find("Is a directory"), std::string::npos);
}

TEST_F(PosixEnvTest, WritingThroughAReadOnlyHandleFails) {
  WriteFile("r", "1");
  auto f = Open("r", OpenMode::kRead);
  Status s = f->Append("2");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("write " + Path("r")), std::string::npos) << s.ToString();
}

TEST_F(PosixEnvTest, FullDeviceMapsToNoSpaceWithOperationAndPath) {
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
  auto f = env_->OpenFile("/dev/full", OpenMode::kReadWrite);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  Status s = (*f)->Append("x");
  EXPECT_EQ(s.code(), StatusCode::kNoSpace);
  EXPECT_EQ(s.message(), "write /dev/full: No space left on device");
  EXPECT_EQ((*f)->WriteAt(0, "x").code(), StatusCode::kNoSpace);
}

TEST_F(PosixEnvTest, RemoveFileDeletesAndAMissingFileIsNotFound) {
  WriteFile("gone", "1");
  EXPECT_TRUE(env_->FileExists(Path("gone")));
  ASSERT_TRUE(env_->RemoveFile(Path("gone")).ok());
  EXPECT_FALSE(env_->FileExists(Path("gone")));
  EXPECT_EQ(env_->RemoveFile(Path("gone")).code(), StatusCode::kNotFound);
}

TEST_F(PosixEnvTest, ListDirReturnsEntryNamesWithoutDotEntries) {
  WriteFile("one", "");
  WriteFile("two", "");
  ASSERT_TRUE(env_->CreateDirs(Path("sub")).ok());
  auto names = env_->ListDir(dir_);
  ASSERT_TRUE(names.ok());
  std::sort(names->begin(), names->end());
  EXPECT_EQ(*names, (std::vector<std::string>{"one", "sub", "two"}));
  EXPECT_EQ(env_->ListDir(Path("nope")).status().code(), StatusCode::kNotFound);
}

TEST_F(PosixEnvTest, CreateDirsMakesParentsAndIsIdempotent) {
  ASSERT_TRUE(env_->CreateDirs(Path("a/b/c")).ok());
  EXPECT_TRUE(env_->FileExists(Path("a/b/c")));
  EXPECT_TRUE(env_->CreateDirs(Path("a/b/c")).ok());
  EXPECT_TRUE(env_->CreateDirs(Path("a/b/c/")).ok());
  EXPECT_TRUE(env_->CreateDirs(Path("a//b/d//")).ok());
  EXPECT_TRUE(env_->FileExists(Path("a/b/d")));
}

TEST_F(PosixEnvTest, CreateDirsThroughAFileFails) {
  WriteFile("file", "x");
  EXPECT_FALSE(env_->CreateDirs(Path("file")).ok());
  EXPECT_FALSE(env_->CreateDirs(Path("file/sub")).ok());
}

TEST_F(PosixEnvTest, RemoveDirRecursiveRemovesTheTreeButNotSymlinkTargets) {
  ASSERT_TRUE(env_->CreateDirs(Path("tree/x/y")).ok());
  ASSERT_TRUE(env_->CreateDirs(Path("outside")).ok());
  WriteFile("outside/keep", "k");
  WriteFile("tree/f", "1");
  WriteFile("tree/x/y/g", "2");
  ASSERT_EQ(::symlink(Path("outside").c_str(), Path("tree/x/link").c_str()), 0);
  ASSERT_TRUE(env_->RemoveDirRecursive(Path("tree")).ok());
  EXPECT_FALSE(env_->FileExists(Path("tree")));
  EXPECT_TRUE(env_->FileExists(Path("outside/keep")));
  EXPECT_TRUE(env_->RemoveDirRecursive(Path("tree")).ok()) << "missing dir is OK";
}

TEST_F(PosixEnvTest, RenameReplacesTheTarget) {
  WriteFile("from", "new");
  WriteFile("to", "old");
  ASSERT_TRUE(env_->Rename(Path("from"), Path("to")).ok());
  EXPECT_FALSE(env_->FileExists(Path("from")));
  auto f = Open("to", OpenMode::kRead);
  EXPECT_EQ(ReadAll(f.get()), "new");
  Status s = env_->Rename(Path("from"), Path("to"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find(Path("from")), std::string::npos);
}

TEST_F(PosixEnvTest, SyncDirSucceedsOnADirectoryAndFailsOnAMissingOne) {
  EXPECT_TRUE(env_->SyncDir(dir_).ok());
  EXPECT_EQ(env_->SyncDir(Path("nope")).code(), StatusCode::kNotFound);
}

TEST_F(PosixEnvTest, SecondLockWithoutWaitingIsBusyUntilTheFirstIsReleased) {
  auto first = env_->LockFile(Path("writer.lock"), false);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = env_->LockFile(Path("writer.lock"), false);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kBusy);
  EXPECT_NE(second.status().message().find(Path("writer.lock")), std::string::npos);
  EXPECT_NE(second.status().message().find("another process holds it"), std::string::npos);
  first.value().reset();
  auto third = env_->LockFile(Path("writer.lock"), false);
  EXPECT_TRUE(third.ok()) << third.status().ToString();
}

TEST_F(PosixEnvTest, WaitingLockIsGrantedWhenTheHolderReleases) {
  auto held = env_->LockFile(Path("l"), true);
  ASSERT_TRUE(held.ok());
  std::atomic<bool> acquired{false};
  std::thread waiter([&] {
    auto l = env_->LockFile(Path("l"), true);
    EXPECT_TRUE(l.ok());
    acquired = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(acquired.load());
  held.value().reset();
  waiter.join();
  EXPECT_TRUE(acquired.load());
}

TEST_F(PosixEnvTest, LockInAMissingDirectoryIsNotFound) {
  EXPECT_EQ(env_->LockFile(Path("nope/l"), false).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace runnel
