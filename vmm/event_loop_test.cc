#include "vmm/event_loop.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace kuml {
namespace {

TEST(EventLoopTest, DispatchesReadableFdsAndStops) {
  auto loop = std::move(EventLoop::Create()).value();
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  UniqueFd r(p[0]), w(p[1]);
  std::string got;
  ASSERT_TRUE(loop->Add(r.get(), EPOLLIN,
                        [&](uint32_t) {
                          char buf[16];
                          ssize_t n = read(r.get(), buf, sizeof buf);
                          got.append(buf, n);
                          if (got == "hello") loop->Stop();
                        })
                  .ok());
  std::thread t([&] { loop->Run(); });
  ASSERT_EQ(write(w.get(), "hel", 3), 3);
  ASSERT_EQ(write(w.get(), "lo", 2), 2);
  t.join();
  EXPECT_EQ(got, "hello");
}

TEST(EventLoopTest, PostRunsOnTheLoopThread) {
  auto loop = std::move(EventLoop::Create()).value();
  std::atomic<std::thread::id> ran_on{};
  std::thread t([&] { loop->Run(); });
  loop->Post([&] {
    ran_on = std::this_thread::get_id();
    loop->Stop();
  });
  std::thread::id loop_id = t.get_id();
  t.join();
  EXPECT_EQ(ran_on.load(), loop_id);
}

TEST(EventLoopTest, RemovedFdIsNotDispatched) {
  auto loop = std::move(EventLoop::Create()).value();
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  UniqueFd r(p[0]), w(p[1]);
  int calls = 0;
  ASSERT_TRUE(loop->Add(r.get(), EPOLLIN, [&](uint32_t) { ++calls; }).ok());
  loop->Remove(r.get());
  ASSERT_EQ(write(w.get(), "x", 1), 1);
  loop->Post([&] { loop->Stop(); });
  loop->Run();
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(loop->Add(-1, EPOLLIN, [](uint32_t) {}).ok());
}

}  // namespace
}  // namespace kuml
