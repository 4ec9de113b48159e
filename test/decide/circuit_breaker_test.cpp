// CircuitBreaker is pure logic: time is handed in, so these run without I/O or sleeps.
#include "decide/database/circuit_breaker.hpp"

#include <gtest/gtest.h>

using namespace flag_eval::decide;
using namespace std::chrono_literals;

namespace {
const CircuitBreaker::Clock::time_point t0{};
}

TEST(CircuitBreaker, StartsClosed) {
    CircuitBreaker breaker;
    EXPECT_EQ(breaker.state(), BreakerState::Closed);
    EXPECT_TRUE(breaker.allows_requests());
    EXPECT_EQ(breaker.failure_threshold(), 3);
    EXPECT_FALSE(breaker.open_since());
    EXPECT_EQ(breaker.open_for(t0 + 5s), CircuitBreaker::Clock::duration::zero());
}

TEST(CircuitBreaker, OpensAfterThresholdConsecutiveFailures) {
    CircuitBreaker breaker(3);
    EXPECT_FALSE(breaker.record_failure(t0));
    EXPECT_FALSE(breaker.record_failure(t0 + 1ms));
    EXPECT_TRUE(breaker.allows_requests());
    EXPECT_TRUE(breaker.record_failure(t0 + 2ms));  // the third one opens it
    EXPECT_EQ(breaker.state(), BreakerState::Open);
    EXPECT_FALSE(breaker.allows_requests());
    EXPECT_EQ(breaker.times_opened(), 1u);
    ASSERT_TRUE(breaker.open_since());
    EXPECT_EQ(*breaker.open_since(), t0 + 2ms);
    EXPECT_EQ(breaker.open_for(t0 + 502ms), 500ms);
    // More failures while open neither reopen nor move the time it opened.
    EXPECT_FALSE(breaker.record_failure(t0 + 300ms));
    EXPECT_EQ(*breaker.open_since(), t0 + 2ms);
    EXPECT_EQ(breaker.times_opened(), 1u);
}

TEST(CircuitBreaker, SuccessResetsTheRun) {
    CircuitBreaker breaker(3);
    breaker.record_failure(t0);
    breaker.record_failure(t0);
    EXPECT_FALSE(breaker.record_success(t0));  // was closed: nothing to close
    EXPECT_EQ(breaker.consecutive_failures(), 0);
    breaker.record_failure(t0);
    breaker.record_failure(t0);
    EXPECT_TRUE(breaker.allows_requests()) << "failures are counted consecutively, not in total";
}

TEST(CircuitBreaker, ProbeSuccessClosesAnOpenBreaker) {
    CircuitBreaker breaker(2);
    breaker.record_failure(t0);
    breaker.record_failure(t0);
    ASSERT_EQ(breaker.state(), BreakerState::Open);
    EXPECT_TRUE(breaker.record_success(t0 + 250ms));
    EXPECT_EQ(breaker.state(), BreakerState::Closed);
    EXPECT_FALSE(breaker.open_since());
    EXPECT_EQ(breaker.consecutive_failures(), 0);
    // It takes a full run of failures to open again.
    EXPECT_FALSE(breaker.record_failure(t0 + 300ms));
    EXPECT_TRUE(breaker.record_failure(t0 + 301ms));
    EXPECT_EQ(breaker.times_opened(), 2u);
    EXPECT_EQ(*breaker.open_since(), t0 + 301ms);
}

TEST(CircuitBreaker, ThresholdBelowOneMeansOne) {
    CircuitBreaker breaker(0);
    EXPECT_EQ(breaker.failure_threshold(), 1);
    EXPECT_TRUE(breaker.record_failure(t0));
}

TEST(CircuitBreaker, StateNames) {
    EXPECT_EQ(breaker_state_name(BreakerState::Closed), "closed");
    EXPECT_EQ(breaker_state_name(BreakerState::Open), "open");
}
