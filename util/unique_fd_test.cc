#include "util/unique_fd.h"

#include <fcntl.h>

#include "gtest/gtest.h"
#include "util/errno_status.h"

namespace kuml {
namespace {

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) != -1; }

TEST(UniqueFdTest, ClosesOnDestruction) {
  int raw = open("/dev/null", O_RDONLY);
  ASSERT_GE(raw, 0);
  {
    UniqueFd fd(raw);
    EXPECT_TRUE(IsOpen(raw));
  }
  EXPECT_FALSE(IsOpen(raw));
}

TEST(UniqueFdTest, MoveTransfersOwnership) {
  UniqueFd a(open("/dev/null", O_RDONLY));
  int raw = a.get();
  UniqueFd b = std::move(a);
  EXPECT_FALSE(a.valid());
  EXPECT_EQ(b.get(), raw);
  EXPECT_TRUE(IsOpen(raw));
}

TEST(UniqueFdTest, ReleaseDoesNotClose) {
  UniqueFd a(open("/dev/null", O_RDONLY));
  int raw = a.Release();
  EXPECT_TRUE(IsOpen(raw));
  close(raw);
}

TEST(ErrnoStatusTest, NamesTheOperationAndMapsCodes) {
  absl::Status s = ErrnoStatus("open /nonexistent", ENOENT);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("open /nonexistent"), std::string::npos);
  EXPECT_NE(s.message().find("No such file"), std::string::npos);
}

}  // namespace
}  // namespace kuml
