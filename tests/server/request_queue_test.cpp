// RequestQueue: a queued request that is cancelled completes (so whoever waits on it is freed),
// admission bounds the requests in the works, and a slot whose request failed starts clean.
#include "server/request_queue.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "server/api_error.h"
#include "test_util.h"

namespace gemma4::server {
namespace {

std::shared_ptr<const Model> TextModel() {
  static std::shared_ptr<const Model> model = Model::Load(gemma4::testing::TestModel("text-q4").string(), {});
  return model;
}

// A job whose generation blocks in its first token until Release(): keeps a slot busy for as
// long as a test needs, without timing.
struct BlockingJob {
  std::shared_ptr<Job> job = std::make_shared<Job>();
  std::mutex mutex;
  std::condition_variable cv;
  bool started = false, released = false;

  explicit BlockingJob(std::vector<int32_t> prompt) {
    job->prompt = std::move(prompt);
    job->options.max_new_tokens = 2;
    job->options.sampling.temperature = 0;
    job->options.on_token = [this](std::string_view, int32_t) {
      std::unique_lock lock(mutex);
      started = true;
      cv.notify_all();
      cv.wait(lock, [&] { return released; });
      return true;
    };
  }
  void WaitStarted() {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return started; });
  }
  void Release() {
    std::lock_guard lock(mutex);
    released = true;
    cv.notify_all();
  }
};

std::shared_ptr<Job> GreedyJob(std::vector<int32_t> prompt, size_t tokens) {
  auto job = std::make_shared<Job>();
  job->prompt = std::move(prompt);
  job->options.max_new_tokens = tokens;
  job->options.sampling.temperature = 0;
  return job;
}

TEST(RequestQueue, CancellingAQueuedJobCompletesIt) {
  auto model = TextModel();
  RequestQueue queue(model, 1, 4, nullptr);
  const auto prompt = model->TokenizeRaw("hello there");
  BlockingJob busy(prompt);
  queue.Submit(busy.job);
  busy.WaitStarted();

  auto waiting = GreedyJob(prompt, 4);
  bool completed = false;
  waiting->on_complete = [&] { completed = true; };
  queue.Submit(waiting);
  EXPECT_EQ(queue.queue_depth(), 1u);
  EXPECT_TRUE(queue.Cancel(waiting, nullptr));
  // Before the fix the job was dropped: on_complete never ran and Wait() blocked forever.
  EXPECT_TRUE(waiting->WaitUntil(Clock::now() + std::chrono::seconds(5)));
  EXPECT_TRUE(completed);
  ASSERT_TRUE(waiting->error);
  try {
    std::rethrow_exception(waiting->error);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kCancelled);
  }
  EXPECT_EQ(queue.queue_depth(), 0u);
  EXPECT_FALSE(waiting->on_complete);  // dropped after the call: no cycle through the owner

  busy.Release();
  busy.job->Wait();
  EXPECT_FALSE(busy.job->error);
  EXPECT_FALSE(queue.Cancel(busy.job, nullptr));  // done or running: flagged, not completed twice
}

TEST(RequestQueue, AdmissionIsBoundedBySlotsPlusQueue) {
  RequestQueue queue(TextModel(), 2, 1, nullptr);
  std::vector<RequestQueue::Admission> held;
  for (int i = 0; i < 3; ++i) held.push_back(queue.Admit());
  try {
    queue.Admit();
    FAIL() << "a fourth admission with 2 slots + a queue of 1";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 503);
    EXPECT_EQ(e.code(), "queue_full");
  }
  held.pop_back();  // one request finished
  EXPECT_TRUE(queue.Admit());
  RequestQueue::Admission moved = std::move(held.front());
  EXPECT_TRUE(moved);
  EXPECT_FALSE(held.front());
}

TEST(RequestQueue, ASlotWhoseRequestFailedStartsClean) {
  auto model = TextModel();
  RequestQueue queue(model, 1, 4, nullptr);
  const auto prompt = model->TokenizeRaw("a prompt the slot will cache");
  auto first = GreedyJob(prompt, 4);
  queue.Submit(first);
  first->Wait();
  ASSERT_FALSE(first->error);

  // The same prompt continued with an id outside the vocabulary: the request fails after the
  // slot matched (and kept) the cached prefix.
  std::vector<int32_t> bad = prompt;
  bad.push_back(static_cast<int32_t>(model->vocab_size() + 7));
  auto failing = GreedyJob(bad, 4);
  queue.Submit(failing);
  failing->Wait();
  ASSERT_TRUE(failing->error);

  auto again = GreedyJob(prompt, 4);
  queue.Submit(again);
  again->Wait();
  ASSERT_FALSE(again->error);
  EXPECT_EQ(again->result.reused_tokens, 0u) << "the failed request's cache was reused";
  EXPECT_EQ(again->result.output_ids, first->result.output_ids);
}

TEST(RequestQueue, ShutdownCompletesQueuedJobs) {
  auto model = TextModel();
  auto queue = std::make_unique<RequestQueue>(model, 1, 4, nullptr);
  const auto prompt = model->TokenizeRaw("x");
  BlockingJob busy(prompt);
  queue->Submit(busy.job);
  busy.WaitStarted();
  auto queued = GreedyJob(prompt, 2);
  queue->Submit(queued);
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    busy.Release();
  });
  queue->Shutdown();
  release.join();
  EXPECT_TRUE(queued->done());
  EXPECT_TRUE(queued->error);
  EXPECT_TRUE(busy.job->done());
}

}  // namespace
}  // namespace gemma4::server
