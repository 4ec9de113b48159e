// Semantic versions and requirements, against the behaviour of the Rust semver crate and the
// reference's normalisation of SDK versions.
#include "core/semver.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace flag_eval {
namespace {

SemanticVersion version(std::string_view text) {
    std::optional<SemanticVersion> v = parse_lenient_version(text);
    EXPECT_TRUE(v) << text;
    return v.value_or(SemanticVersion{});
}

bool satisfies(std::string_view requirement, std::string_view v) {
    std::optional<VersionRequirement> r = VersionRequirement::parse(requirement);
    EXPECT_TRUE(r) << requirement;
    return r && r->matches(version(v));
}

TEST(SemverParse, StrictAndLenientForms) {
    SemanticVersion v = version("1.2.3-alpha.1+build.007");
    EXPECT_EQ(v.major, 1u);
    EXPECT_EQ(v.minor, 2u);
    EXPECT_EQ(v.patch, 3u);
    EXPECT_EQ(v.pre, "alpha.1");
    EXPECT_EQ(v.build, "build.007");

    SemanticVersion padded = version("3.08");
    EXPECT_EQ(padded.major, 3u);
    EXPECT_EQ(padded.minor, 8u);
    EXPECT_EQ(padded.patch, 0u);
    EXPECT_EQ(version("7").major, 7u);
    EXPECT_EQ(version("v1.0.1").patch, 1u);
    EXPECT_EQ(version("v 1.0.1").patch, 1u);
    EXPECT_EQ(version("\t1.0.1\xC2\xA0").patch, 1u);  // Unicode whitespace is trimmed too
    EXPECT_EQ(version("01.02.03").minor, 2u);
    EXPECT_EQ(version("1.0-beta").pre, "beta");
    EXPECT_EQ(version("1.0.0-alpha-1").pre, "alpha-1");
    EXPECT_EQ(version("1.0.0+build-1").build, "build-1");
    EXPECT_EQ(version("18446744073709551615.0.0").major, 18446744073709551615u);
    EXPECT_EQ(version("0000000000000000000000001.0.0").major, 1u);
}

TEST(SemverParse, Rejects) {
    for (const char* text : {"",          "v",         "not-a-version",
                             "1.2.abc",   "1.2.3.4",   "1..2.3",
                             "1.2.3.",    ".1.2.3",    "1.-2.3",
                             "V1.2.3",    " v1.2.3",   "1.2.3-",
                             "1.2.3+",    "1.2.3-01",  "1.2.3-a..b",
                             "1.2.3-a_b", "1.2.3+a+b", "18446744073709551616.0.0",
                             "1.2.3 4",   "x.1.2",     "1.x",
                             "-1.2.3",    "+1.2.3"})
        EXPECT_FALSE(parse_lenient_version(text)) << text;
}

TEST(SemverOrder, PrecedenceOfSemVerSpec) {
    const std::vector<const char*> ascending = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
                                                "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
                                                "1.0.0-rc.1",  "1.0.0",         "1.0.1",
                                                "1.1.0",       "2.0.0",         "10.0.0"};
    for (std::size_t i = 0; i < ascending.size(); ++i)
        for (std::size_t j = 0; j < ascending.size(); ++j) {
            const int expected = (i > j) - (i < j);
            EXPECT_EQ(compare_versions(version(ascending[i]), version(ascending[j])), expected)
                << ascending[i] << " vs " << ascending[j];
        }
}

TEST(SemverOrder, BuildMetadataBreaksTies) {
    EXPECT_EQ(compare_versions(version("1.0.0+a"), version("1.0.0+a")), 0);
    EXPECT_LT(compare_versions(version("1.0.0"), version("1.0.0+a")), 0);
    EXPECT_LT(compare_versions(version("1.0.0+1"), version("1.0.0+a")), 0);
    EXPECT_LT(compare_versions(version("1.0.0+0"), version("1.0.0+00")), 0);
    EXPECT_LT(compare_versions(version("1.0.0+00"), version("1.0.0+1")), 0);
    EXPECT_LT(compare_versions(version("1.0.0+2"), version("1.0.0+10")), 0);
    EXPECT_LT(compare_versions(version("1.0.0+a"), version("1.0.0+a.b")), 0);
    EXPECT_LT(compare_versions(version("1.0.0-rc+z"), version("1.0.0+a")), 0);
}

TEST(SemverRequirement, OperatorsAndPartialVersions) {
    EXPECT_TRUE(satisfies("^1.2.3", "1.9.0"));
    EXPECT_FALSE(satisfies("^1.2.3", "2.0.0"));
    EXPECT_TRUE(satisfies("1.2.3", "1.9.0"));  // default is caret
    EXPECT_TRUE(satisfies("^0.2.3", "0.2.9"));
    EXPECT_FALSE(satisfies("^0.2.3", "0.3.0"));
    EXPECT_TRUE(satisfies("^0.0.3", "0.0.3"));
    EXPECT_FALSE(satisfies("^0.0.3", "0.0.4"));
    EXPECT_TRUE(satisfies("^0", "0.9.9"));
    EXPECT_TRUE(satisfies("^0.1", "0.1.7"));
    EXPECT_FALSE(satisfies("^0.1", "0.2.0"));
    EXPECT_TRUE(satisfies("^1.2", "1.5.0"));
    EXPECT_TRUE(satisfies("~1", "1.9.9"));
    EXPECT_FALSE(satisfies("~1", "2.0.0"));
    EXPECT_TRUE(satisfies("~1.2", "1.2.9"));
    EXPECT_FALSE(satisfies("~1.2", "1.3.0"));
    EXPECT_TRUE(satisfies(">=1.2, <2", "1.9.9"));
    EXPECT_FALSE(satisfies(">=1.2, <2", "2.0.0"));
    EXPECT_FALSE(satisfies(">=1.2, <2", "1.1.0"));
    EXPECT_FALSE(satisfies(">1", "1.5.0"));
    EXPECT_TRUE(satisfies(">1", "2.0.0"));
    EXPECT_TRUE(satisfies("<=1.2", "1.2.9"));
    EXPECT_TRUE(satisfies("=1.2.3", "1.2.3"));
    EXPECT_FALSE(satisfies("=1.2.3", "1.2.4"));
    EXPECT_TRUE(satisfies("  >= 1.0.0 ,  < 1.1.0  ", "1.0.5"));
    EXPECT_TRUE(satisfies("1.2.x", "1.2.7"));
    EXPECT_TRUE(satisfies("1.X", "1.7.0"));
    EXPECT_TRUE(satisfies(">=1.x", "1.0.0"));
    EXPECT_TRUE(satisfies("*", "0.0.0"));
    EXPECT_TRUE(satisfies("x", "42.0.0"));
}

TEST(SemverRequirement, PreReleasesOnlyMatchTheirOwnVersionTriple) {
    EXPECT_FALSE(satisfies("*", "1.0.0-beta"));
    EXPECT_FALSE(satisfies("^1.0.0", "1.5.0-beta"));
    EXPECT_TRUE(satisfies(">=1.0.0-alpha", "1.0.0-beta"));
    EXPECT_FALSE(satisfies(">=1.0.0-alpha", "1.0.1-beta"));
    EXPECT_TRUE(satisfies(">=1.0.0-alpha", "1.0.1"));
    EXPECT_TRUE(satisfies("~1.2.3-beta.1", "1.2.3-beta.2"));
    EXPECT_FALSE(satisfies("~1.2.3-beta.2", "1.2.3-beta.1"));
}

TEST(SemverRequirement, Rejects) {
    for (const char* text :
         {"", " ", "1.*.3", "*.*", "x.1", "*, 1.0.0", ">=", "^", "1.2.3 1.2.4", "1.2.3,", "01.2.3",
          "1.2.3-", "1.2.3-01", "a.b.c", "~~1.2.3", ">=1.2.3-beta+", "1.2.3.4"})
        EXPECT_FALSE(VersionRequirement::parse(text)) << '"' << text << '"';
    std::string many;
    for (int i = 0; i < 32; ++i) many += (i ? ", >=1.0." : ">=1.0.") + std::to_string(i);
    EXPECT_TRUE(VersionRequirement::parse(many));
    EXPECT_FALSE(VersionRequirement::parse(many + ", >=1.0.99"));  // the semver crate allows 32
}

TEST(SemverRequirement, FromFilterFollowsTheReferenceRewrite) {
    const auto from = [](RangeOperator op, std::string_view filter, std::string_view v) {
        std::optional<VersionRequirement> r = VersionRequirement::from_filter(op, filter);
        EXPECT_TRUE(r) << filter;
        return r && r->matches(version(v));
    };
    EXPECT_TRUE(from(RangeOperator::Tilde, "3.08", "3.8.5"));
    EXPECT_FALSE(from(RangeOperator::Tilde, "3.08", "3.9.0"));
    EXPECT_TRUE(from(RangeOperator::Tilde, "v1.2.3", "1.2.9"));
    EXPECT_TRUE(from(RangeOperator::Caret, " 1 ", "1.9.0"));
    EXPECT_FALSE(from(RangeOperator::Caret, "0.0", "0.0.1"));  // "^0.0.0" is exactly 0.0.0
    EXPECT_TRUE(from(RangeOperator::Wildcard, "3.08.*", "3.8.1"));
    EXPECT_TRUE(from(RangeOperator::Wildcard, "1.*.*", "1.4.4"));
    EXPECT_TRUE(from(RangeOperator::Wildcard, "*", "3.1.4"));
    EXPECT_FALSE(VersionRequirement::from_filter(RangeOperator::Tilde, "~1.2"));
    EXPECT_FALSE(VersionRequirement::from_filter(RangeOperator::Caret, ""));
    EXPECT_FALSE(VersionRequirement::from_filter(RangeOperator::Wildcard, "1.*.3"));
    EXPECT_FALSE(VersionRequirement::from_filter(RangeOperator::Wildcard, "*.*"));
}

}  // namespace
}  // namespace flag_eval
