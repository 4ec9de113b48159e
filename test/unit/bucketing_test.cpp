// Bucketing is frozen once released: these golden values must never change.
#include "core/bucketing.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace flag_eval;

// XXH3 values computed outside this code base: `printf %s INPUT | xxhsum -H3`, top 60 bits /
// (2^60-1).
TEST(Bucketing, Xxh3GoldenValues) {
    EXPECT_EQ(hash01(Bucketing::Xxh3, "beta-search.", "user-17", ""), 0.6976980562154835);
    EXPECT_EQ(hash01(Bucketing::Xxh3, "checkout-layout.", "user-61", "variant"),
              0.5076501691915364);
    EXPECT_EQ(hash01(Bucketing::Xxh3, "holdout-", "user-31", ""), 0.3852938411653524);
}

TEST(Bucketing, AlgorithmsDiffer) {
    EXPECT_NE(hash01(Bucketing::Xxh3, "k.", "id", ""), hash01(Bucketing::Sha1, "k.", "id", ""));
}

TEST(Bucketing, IdentifierTruncatedAt200ScalarValues) {
    std::string ids200, ids201;
    for (int i = 0; i < 200; ++i) ids200 += "\xC3\xA9";  // é: two bytes, one scalar value
    ids201 = ids200 + "x";
    EXPECT_EQ(truncate_identifier(ids201), ids200);
    EXPECT_EQ(truncate_identifier(ids200), ids200);
    for (auto b : {Bucketing::Xxh3, Bucketing::Sha1})
        EXPECT_EQ(hash01(b, "f.", ids201, ""), hash01(b, "f.", ids200, ""));
    const std::string long_ascii(5000, 'a');
    EXPECT_EQ(truncate_identifier(long_ascii).size(), 200u);
}

TEST(Bucketing, NamesRoundTrip) {
    EXPECT_EQ(bucketing_from_name("xxh3"), Bucketing::Xxh3);
    EXPECT_EQ(bucketing_from_name("sha1"), Bucketing::Sha1);
    EXPECT_FALSE(bucketing_from_name("md5"));
    EXPECT_EQ(bucketing_name(Bucketing::Sha1), "sha1");
}

// 10,000 ids at 30 %: the share included stays within 30 % +- 1.5 % (about 3.3 standard
// deviations).
TEST(Bucketing, DistributionAtThirtyPercent) {
    for (auto b : {Bucketing::Xxh3, Bucketing::Sha1}) {
        int included = 0;
        for (int i = 0; i < 10000; ++i)
            if (hash01(b, "distribution-check.", "user-" + std::to_string(i), "") <= 0.30)
                ++included;
        EXPECT_NEAR(included / 10000.0, 0.30, 0.015) << bucketing_name(b);
    }
}
