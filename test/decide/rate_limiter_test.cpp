// RateLimiter: the bucket arithmetic at given instants (no clock, no sleeps), keys kept apart,
// the bound on the keys held, and the count under threads checking at once.
#include "decide/api/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace flag_eval::decide {
namespace {

using namespace std::chrono_literals;
using Clock = RateLimiter::Clock;

const Clock::time_point t0 = Clock::time_point(1000s);

RateDecision decision(RateLimiter& limiter, std::string_view key, Clock::time_point at) {
    return limiter.check(key, at).decision;
}

TEST(RateLimiter, OffAllowsEverythingAndKeepsNoKeys) {
    RateLimiter limiter(RateLimit{0, 5});
    EXPECT_FALSE(limiter.enabled());
    for (int i = 0; i < 1000; ++i)
        EXPECT_EQ(decision(limiter, "k" + std::to_string(i % 3), t0), RateDecision::Allowed);
    EXPECT_EQ(limiter.keys(), 0u);
}

TEST(RateLimiter, ABurstAtOnceThenTheRate) {
    RateLimiter limiter(RateLimit{10, 5});  // one request per 100 ms, five at once
    for (int i = 0; i < 5; ++i) EXPECT_NE(decision(limiter, "a", t0), RateDecision::Limited) << i;
    const RateVerdict refused = limiter.check("a", t0);
    EXPECT_EQ(refused.decision, RateDecision::Limited);
    EXPECT_EQ(refused.retry_after, 1s) << "100 ms, rounded up to whole seconds";
    EXPECT_EQ(decision(limiter, "a", t0 + 99ms), RateDecision::Limited);
    EXPECT_NE(decision(limiter, "a", t0 + 100ms), RateDecision::Limited);
    EXPECT_EQ(decision(limiter, "a", t0 + 100ms), RateDecision::Limited);
    // Idle for the burst's length: the bucket is full again.
    for (int i = 0; i < 5; ++i)
        EXPECT_NE(decision(limiter, "a", t0 + 700ms), RateDecision::Limited) << i;
    EXPECT_EQ(decision(limiter, "a", t0 + 700ms), RateDecision::Limited);
}

TEST(RateLimiter, WarnsAbove80PercentOfTheBurst) {
    RateLimiter limiter(RateLimit{1, 10});
    for (int i = 1; i <= 8; ++i) EXPECT_EQ(decision(limiter, "a", t0), RateDecision::Allowed) << i;
    EXPECT_EQ(decision(limiter, "a", t0), RateDecision::Warned);
    EXPECT_EQ(decision(limiter, "a", t0), RateDecision::Warned);
    EXPECT_EQ(decision(limiter, "a", t0), RateDecision::Limited);
    // Three seconds later three requests have come back: 7 of 10 used is below the tier again.
    EXPECT_EQ(decision(limiter, "a", t0 + 3s), RateDecision::Allowed);
}

TEST(RateLimiter, RetryAfterIsWhenTheNextRequestIsAllowed) {
    RateLimiter limiter(RateLimit{1, 3});
    for (int i = 0; i < 3; ++i) limiter.check("a", t0);
    EXPECT_EQ(limiter.check("a", t0).retry_after, 1s);
    EXPECT_EQ(limiter.check("a", t0 + 999ms).decision, RateDecision::Limited);
    EXPECT_NE(limiter.check("a", t0 + 1s).decision, RateDecision::Limited);

    RateLimiter slow(RateLimit{2, 1});  // 500 ms apart
    slow.check("b", t0);
    EXPECT_EQ(slow.check("b", t0 + 100ms).retry_after, 1s) << "400 ms, rounded up";
    EXPECT_EQ(slow.check("b", t0 + 499ms).decision, RateDecision::Limited);
    EXPECT_NE(slow.check("b", t0 + 500ms).decision, RateDecision::Limited);
}

TEST(RateLimiter, RefusedRequestsAreNotCounted) {
    // A client sending ten times its rate for ten seconds gets its burst and the rate, no less.
    RateLimiter limiter(RateLimit{100, 50});
    int allowed = 0;
    for (int ms = 0; ms < 10'000; ++ms)  // 1000 requests a second
        allowed +=
            decision(limiter, "a", t0 + std::chrono::milliseconds(ms)) != RateDecision::Limited;
    EXPECT_GE(allowed, 50 + 100 * 10 - 5);
    EXPECT_LE(allowed, 50 + 100 * 10 + 10);
}

TEST(RateLimiter, TheDefaultBurstIsTenSecondsOfTheRate) {
    RateLimiter limiter(RateLimit{3, 0});
    EXPECT_EQ(limiter.burst(), 30u);
    int allowed = 0;
    for (int i = 0; i < 100; ++i) allowed += decision(limiter, "a", t0) != RateDecision::Limited;
    EXPECT_EQ(allowed, 30);
}

TEST(RateLimiter, OneKeyFloodingDoesNotLimitAnother) {
    RateLimiter limiter(RateLimit{10, 20});
    int flood_allowed = 0;
    for (int i = 0; i < 10'000; ++i)
        flood_allowed += decision(limiter, "flood", t0) != RateDecision::Limited;
    EXPECT_EQ(flood_allowed, 20);
    for (int i = 0; i < 16; ++i) EXPECT_EQ(decision(limiter, "quiet", t0), RateDecision::Allowed);
    EXPECT_EQ(limiter.keys(), 2u);
}

TEST(RateLimiter, KeysWhoseBucketIsFullAgainAreDropped) {
    RateLimiter limiter(RateLimit{100, 100});  // one request refills in 10 ms
    for (int i = 0; i < 1000; ++i) limiter.check("old" + std::to_string(i), t0);
    EXPECT_EQ(limiter.keys(), 1000u);
    // A second later every old bucket is full: the new keys' checks drop them as they pass.
    for (int i = 0; i < 1000; ++i) limiter.check("new" + std::to_string(i), t0 + 1s);
    EXPECT_EQ(limiter.keys(), 1000u);
    // One-off keys (random tokens, one request each) leave the same way.
    for (int i = 0; i < 1000; ++i) limiter.check("later" + std::to_string(i), t0 + 2s);
    EXPECT_EQ(limiter.keys(), 1000u);
}

TEST(RateLimiter, AFloodOfDistinctKeysCannotGrowTheTable) {
    RateLimiter limiter(RateLimit{1, 5}, 160);
    int flood_allowed = 0;
    for (int i = 0; i < 20'000; ++i) {
        flood_allowed += decision(limiter, "flood", t0) != RateDecision::Limited;
        limiter.check("random-" + std::to_string(i), t0);  // none of them idle yet
        ASSERT_LE(limiter.keys(), 160u);
    }
    // The client that keeps sending stays in the table and stays limited.
    EXPECT_EQ(flood_allowed, 5);
}

TEST(RateLimiter, ThreadsCheckingOneKeyAtOnceGetExactlyTheBurst) {
    RateLimiter limiter(RateLimit{1, 1000});
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 5000; ++i) {
                if (decision(limiter, "shared", t0) != RateDecision::Limited) ++allowed;
                limiter.check("own" + std::to_string(t * 10'000 + i), t0);
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(allowed.load(), 1000);
    EXPECT_EQ(limiter.keys(), 20'001u);
}

TEST(RateLimiter, RatesBeyondTheMaximumAreRefused) {
    EXPECT_THROW(RateLimiter(RateLimit{RateLimiter::kMaxRate + 1, 1}), std::invalid_argument);
    EXPECT_THROW(RateLimiter(RateLimit{1, RateLimiter::kMaxRate + 1}), std::invalid_argument);
    RateLimiter fastest(RateLimit{RateLimiter::kMaxRate, RateLimiter::kMaxRate});
    EXPECT_EQ(decision(fastest, "a", t0), RateDecision::Allowed);
}

}  // namespace
}  // namespace flag_eval::decide
