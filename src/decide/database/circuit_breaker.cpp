#include "decide/database/circuit_breaker.hpp"

#include <algorithm>

namespace flag_eval::decide {

std::string_view breaker_state_name(BreakerState state) {
    return state == BreakerState::Closed ? "closed" : "open";
}

CircuitBreaker::CircuitBreaker(int failure_threshold)
    : failure_threshold_(std::max(1, failure_threshold)) {}

bool CircuitBreaker::record_failure(Clock::time_point now) {
    ++consecutive_failures_;
    if (state_ == BreakerState::Closed && consecutive_failures_ >= failure_threshold_) {
        state_ = BreakerState::Open;
        opened_at_ = now;
        ++times_opened_;
        return true;
    }
    return false;
}

bool CircuitBreaker::record_success(Clock::time_point) {
    consecutive_failures_ = 0;
    if (state_ == BreakerState::Open) {
        state_ = BreakerState::Closed;
        return true;
    }
    return false;
}

std::optional<CircuitBreaker::Clock::time_point> CircuitBreaker::open_since() const {
    if (state_ == BreakerState::Closed) return std::nullopt;
    return opened_at_;
}

CircuitBreaker::Clock::duration CircuitBreaker::open_for(Clock::time_point now) const {
    if (state_ == BreakerState::Closed || now < opened_at_) return Clock::duration::zero();
    return now - opened_at_;
}

}  // namespace flag_eval::decide
