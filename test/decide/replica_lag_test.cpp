// LSN parsing and the staleness math, with injected times and positions.
#include "decide/database/replica_lag.hpp"

#include <gtest/gtest.h>

using namespace flag_eval::decide;
using namespace std::chrono_literals;

namespace {
const WalProgressHistory::Clock::time_point t0{};
}

TEST(ParseLsn, PostgresTextForm) {
    EXPECT_EQ(parse_lsn("16/B374D848"), Lsn{0x16B374D848});
    EXPECT_EQ(parse_lsn("0/0"), Lsn{0});
    EXPECT_EQ(parse_lsn("0/3000148"), Lsn{0x3000148});
    EXPECT_EQ(parse_lsn("FFFFFFFF/FFFFFFFF"), ~Lsn{0});
    EXPECT_EQ(parse_lsn("a/b"), Lsn{0xA0000000B});  // lower case is fine
}

TEST(ParseLsn, RejectsMalformedText) {
    for (const char* bad : {"", "/", "16", "16/", "/B374D848", "16/B374D848/1", "1G/0", "0/-1",
                            "+1/0", " 1/0", "1/0 ", "100000000/0", "0/100000000", "0x1/0"})
        EXPECT_FALSE(parse_lsn(bad)) << bad;
}

TEST(ParseLsn, FormatRoundTrips) {
    EXPECT_EQ(format_lsn(0x16B374D848), "16/B374D848");
    EXPECT_EQ(format_lsn(0), "0/0");
    for (Lsn lsn : {Lsn{0}, Lsn{0x3000148}, Lsn{0x16B374D848}, ~Lsn{0}})
        EXPECT_EQ(parse_lsn(format_lsn(lsn)), lsn);
}

TEST(WalProgressHistory, NothingObservedMeansNotStale) {
    WalProgressHistory history;
    EXPECT_FALSE(history.highest());
    EXPECT_EQ(history.staleness(0, t0 + 10s), 0s);
}

TEST(WalProgressHistory, CaughtUpReplicaIsNotStale) {
    WalProgressHistory history;
    history.observe(100, t0);
    history.observe(200, t0 + 1s);
    EXPECT_EQ(history.staleness(200, t0 + 5s), 0s);
    EXPECT_EQ(history.staleness(250, t0 + 5s), 0s) << "ahead of the reference is caught up";
}

TEST(WalProgressHistory, StalenessIsTimeSinceTheReferencePassedTheReplay) {
    WalProgressHistory history;
    history.observe(100, t0);
    history.observe(200, t0 + 1s);
    history.observe(300, t0 + 2s);
    // Replayed 150: the reference went past it when 200 was first seen, at t0+1s.
    EXPECT_EQ(history.staleness(150, t0 + 3s), 2s);
    // Replayed exactly 200: passed when 300 appeared.
    EXPECT_EQ(history.staleness(200, t0 + 3s), 1s);
    EXPECT_EQ(history.staleness(299, t0 + 2500ms), 500ms);
    // Below the first entry: at least since the first observation.
    EXPECT_EQ(history.staleness(50, t0 + 3s), 3s);
    // It keeps growing while the replica stays put.
    EXPECT_EQ(history.staleness(150, t0 + 10s), 9s);
}

TEST(WalProgressHistory, IdlePrimaryDoesNotMakeReplicasStale) {
    WalProgressHistory history;
    history.observe(500, t0);
    // The primary reports 500 on every probe; nothing new is written.
    for (int i = 1; i < 20; ++i) history.observe(500, t0 + i * 250ms);
    EXPECT_EQ(history.size(), 1u);
    EXPECT_EQ(history.staleness(500, t0 + 60s), 0s);
    EXPECT_EQ(history.staleness(499, t0 + 60s), 60s);
}

TEST(WalProgressHistory, IgnoresPositionsThatDoNotAdvance) {
    WalProgressHistory history;
    history.observe(200, t0 + 1s);
    history.observe(150, t0 + 2s);  // a replica's receive LSN behind what the primary showed
    history.observe(200, t0 + 3s);
    EXPECT_EQ(history.size(), 1u);
    EXPECT_EQ(history.highest(), Lsn{200});
    EXPECT_EQ(history.staleness(150, t0 + 4s), 3s);
}

TEST(WalProgressHistory, LateObservationKeepsTimeMonotonic) {
    WalProgressHistory history;
    history.observe(100, t0 + 5s);
    history.observe(200, t0 + 4s);  // handed in late
    EXPECT_EQ(history.staleness(150, t0 + 6s), 1s);
}

TEST(WalProgressHistory, TrimmingNeverReportsALaggingReplicaAsFresh) {
    WalProgressHistory history(10s);
    for (int i = 0; i <= 100; ++i) history.observe(1000 + i, t0 + i * 1s);
    // Entries older than 10 s are gone but one, so the history stays small...
    EXPECT_LE(history.size(), 12u);
    // ...and a replica stuck at the very start is still at least 10 s stale.
    EXPECT_GE(history.staleness(1000, t0 + 100s), 10s);
    EXPECT_EQ(history.staleness(1095, t0 + 100s), 4s);
}

TEST(WalProgressHistory, EntryCapKeepsTheLowerBound) {
    WalProgressHistory history(1h, 8);
    for (int i = 0; i < 100; ++i) history.observe(i + 1, t0 + i * 1ms);
    EXPECT_EQ(history.size(), 8u);
    EXPECT_EQ(history.staleness(0, t0 + 1s), 1s - 92ms);  // the oldest kept entry, seen at 92 ms
}
