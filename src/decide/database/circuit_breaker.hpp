// A circuit breaker per database route: after a run of failures the route is skipped by requests
// (so a dead route costs them nothing) until a background probe or a request succeeds on it.
// Pure logic: the caller supplies the time, so it is tested without I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace flag_eval::decide {

enum class BreakerState { Closed, Open };

std::string_view breaker_state_name(BreakerState state);  // "closed" / "open"

class CircuitBreaker {
public:
    using Clock = std::chrono::steady_clock;

    // failure_threshold: consecutive failures that open a closed breaker (at least 1).
    explicit CircuitBreaker(int failure_threshold = 3);

    BreakerState state() const { return state_; }
    bool allows_requests() const { return state_ == BreakerState::Closed; }

    // A connect failure, a timeout, a lost connection or a route-level server error.
    // Returns true when this failure opened the breaker.
    bool record_failure(Clock::time_point now);
    // Any answer from the route (a request or a probe). Returns true when it closed the breaker.
    bool record_success(Clock::time_point now);

    int consecutive_failures() const { return consecutive_failures_; }
    int failure_threshold() const { return failure_threshold_; }
    std::uint64_t times_opened() const { return times_opened_; }
    // When the breaker last opened; nullopt while closed.
    std::optional<Clock::time_point> open_since() const;
    // How long it has been open at `now` (zero while closed).
    Clock::duration open_for(Clock::time_point now) const;

private:
    int failure_threshold_;
    BreakerState state_ = BreakerState::Closed;
    int consecutive_failures_ = 0;
    std::uint64_t times_opened_ = 0;
    Clock::time_point opened_at_{};
};

}  // namespace flag_eval::decide
