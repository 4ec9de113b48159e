// Token buckets keyed by text (a client's address, a team's public token): each key may make
// `per_second` requests a second on average and `burst` at once. The arithmetic is GCRA, the
// token bucket written as one time per key (its "theoretical arrival time": when the bucket would
// be full again), so a key costs one 64-bit number besides its text.
//
// Memory is bounded. A key whose bucket has filled up again is the same as an absent key and is
// dropped as later checks pass by; keys are kept in order of their last check, so the idle ones
// gather at the end and leave in constant time. Beyond `max_keys` the key checked least recently
// is dropped even if its bucket is not full (it starts again with a full one): a flood of distinct
// keys cannot grow the table, and a client that keeps sending stays at the front.
//
// check() may run on any thread, several at once: the keys are spread over shards, each with
// its own mutex held for one lookup. The time is passed in, so tests need no clock.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace flag_eval::decide {

struct RateLimit {
    std::uint64_t per_second = 0;  // 0: no limit
    std::uint64_t burst = 0;       // 0: ten seconds of per_second
};

enum class RateDecision {
    Allowed,
    Warned,   // allowed, with more than 80 % of the burst used (PostHog's warning tier)
    Limited,  // refused; not counted
};

struct RateVerdict {
    RateDecision decision = RateDecision::Allowed;
    std::chrono::seconds retry_after{0};  // Limited: until a request is allowed again, >= 1 s
};

class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t kDefaultMaxKeys = 65536;
    static constexpr std::uint64_t kMaxRate = 1'000'000'000;  // per_second and burst

    // Throws std::invalid_argument beyond kMaxRate.
    explicit RateLimiter(RateLimit limit, std::size_t max_keys = kDefaultMaxKeys);
    RateLimiter(const RateLimiter&) = delete;
    RateLimiter& operator=(const RateLimiter&) = delete;

    bool enabled() const { return interval_ns_ > 0; }
    std::uint64_t burst() const { return burst_; }

    // One request of `key` at `now`. Always Allowed when the limiter is not enabled.
    RateVerdict check(std::string_view key, Clock::time_point now);

    // Keys held now (with a bucket not known to be full again).
    std::size_t keys() const;

private:
    static constexpr std::size_t kShards = 16;
    // Idle keys dropped from the end per check, at most: each check adds at most one key, so
    // idle ones leave faster than they come, and no check pays for a long sweep.
    static constexpr int kTrimPerCheck = 2;

    struct Entry {
        std::string key;
        std::int64_t full_at_ns;  // when the bucket is full again (the GCRA's arrival time)
    };
    using Recent = std::list<Entry>;  // most recently checked first
    struct Shard {
        mutable std::mutex mutex;
        Recent recent;
        // Views of the keys in `recent`, whose nodes never move.
        std::unordered_map<std::string_view, Recent::iterator> index;
    };

    Shard& shard_of(std::string_view key);
    void trim(Shard& shard, std::int64_t now_ns) const;

    std::int64_t interval_ns_ = 0;  // time one request takes out of the bucket
    std::int64_t capacity_ns_ = 0;  // burst × interval: how far ahead full_at may run
    std::int64_t warn_ns_ = 0;      // 80 % of the capacity
    std::uint64_t burst_ = 0;
    std::size_t max_keys_per_shard_;
    std::array<Shard, kShards> shards_;
};

}  // namespace flag_eval::decide
