#include "decide/api/rate_limiter.hpp"

#include <algorithm>
#include <functional>
#include <stdexcept>

namespace flag_eval::decide {
namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

std::int64_t nanoseconds(RateLimiter::Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

RateLimiter::RateLimiter(RateLimit limit, std::size_t max_keys)
    : max_keys_per_shard_(std::max<std::size_t>(1, max_keys / kShards)) {
    if (limit.per_second > kMaxRate || limit.burst > kMaxRate)
        throw std::invalid_argument("rate limit above " + std::to_string(kMaxRate));
    if (limit.per_second == 0) return;
    burst_ = limit.burst > 0 ? limit.burst : 10 * limit.per_second;
    // Whole nanoseconds: a rate that does not divide a second is rounded up a little.
    interval_ns_ = kNanosPerSecond / static_cast<std::int64_t>(limit.per_second);
    // At most 1e9 × 1e9 (or 1e10 × 1e9 with the default burst of a rate of 1): no overflow.
    capacity_ns_ = static_cast<std::int64_t>(burst_) * interval_ns_;
    warn_ns_ = capacity_ns_ - capacity_ns_ / 5;
}

RateLimiter::Shard& RateLimiter::shard_of(std::string_view key) {
    return shards_[std::hash<std::string_view>{}(key) % kShards];
}

void RateLimiter::trim(Shard& shard, std::int64_t now_ns) const {
    for (int i = 0; i < kTrimPerCheck && !shard.recent.empty(); ++i) {
        const Entry& oldest = shard.recent.back();
        if (oldest.full_at_ns > now_ns) return;
        shard.index.erase(std::string_view(oldest.key));
        shard.recent.pop_back();
    }
}

RateVerdict RateLimiter::check(std::string_view key, Clock::time_point now) {
    if (!enabled()) return {};
    const std::int64_t now_ns = nanoseconds(now);
    Shard& shard = shard_of(key);
    std::lock_guard lock(shard.mutex);
    trim(shard, now_ns);

    const auto found = shard.index.find(key);
    const std::int64_t full_at =
        found == shard.index.end() ? now_ns : std::max(found->second->full_at_ns, now_ns);
    // How much of the bucket is used once this request is taken out, in time.
    const std::int64_t used = full_at + interval_ns_ - now_ns;
    if (used > capacity_ns_) {
        // Cannot happen to a new key (a burst is at least one request). Refused requests are
        // not counted, so a client sending faster still gets its rate.
        if (found != shard.index.end())
            shard.recent.splice(shard.recent.begin(), shard.recent, found->second);
        const std::int64_t wait_ns = used - capacity_ns_;
        return {RateDecision::Limited,
                std::chrono::seconds((wait_ns + kNanosPerSecond - 1) / kNanosPerSecond)};
    }
    if (found != shard.index.end()) {
        found->second->full_at_ns = now_ns + used;
        shard.recent.splice(shard.recent.begin(), shard.recent, found->second);
    } else {
        if (shard.index.size() >= max_keys_per_shard_) {
            shard.index.erase(std::string_view(shard.recent.back().key));
            shard.recent.pop_back();
        }
        shard.recent.push_front(Entry{std::string(key), now_ns + used});
        shard.index.emplace(std::string_view(shard.recent.front().key), shard.recent.begin());
    }
    return {used > warn_ns_ ? RateDecision::Warned : RateDecision::Allowed,
            std::chrono::seconds(0)};
}

std::size_t RateLimiter::keys() const {
    std::size_t total = 0;
    for (const Shard& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        total += shard.index.size();
    }
    return total;
}

}  // namespace flag_eval::decide
