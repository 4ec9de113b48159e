// How current the definitions the service holds are: the moment they were last known to equal the
// database's (a refresh that found them current, less the lag of the server that answered, or
// the snapshot file's time after a restart). The refresher confirms, every request thread reads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

namespace flag_eval::decide {

class DefinitionsFreshness {
public:
    using Clock = std::chrono::system_clock;

    // Keeps the latest moment confirmed; an earlier one changes nothing.
    void confirm(Clock::time_point as_of) {
        const std::int64_t value = to_micros(as_of);
        std::int64_t seen = confirmed_.load(std::memory_order_relaxed);
        while (value > seen &&
               !confirmed_.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
        }
    }

    // Time since then (never negative); nullopt before anything was confirmed.
    std::optional<Clock::duration> age(Clock::time_point now) const {
        const std::int64_t confirmed = confirmed_.load(std::memory_order_relaxed);
        if (confirmed == kNever) return std::nullopt;
        const std::int64_t elapsed = to_micros(now) - confirmed;
        return std::chrono::duration_cast<Clock::duration>(
            std::chrono::microseconds(elapsed > 0 ? elapsed : 0));
    }

private:
    static constexpr std::int64_t kNever = INT64_MIN;
    static std::int64_t to_micros(Clock::time_point t) {
        return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
    }

    std::atomic<std::int64_t> confirmed_{kNever};
};

}  // namespace flag_eval::decide
