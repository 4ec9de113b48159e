// PostHog's conformance corpus (test/conformance/posthog) through the core: every
// evaluation case and every hash vector must pass.
#include "core/bucketing.hpp"
#include "core/flag_set.hpp"
#include "core/json_properties.hpp"
#include "core/result_json.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace json = boost::json;
using namespace flag_eval;

namespace {

std::string corpus_dir() {
    const char* dir = std::getenv("FLAG_EVAL_CONFORMANCE_DIR");
    return dir ? dir : "test/conformance/posthog";  // tests run from the repository root
}

json::value load(const std::string& name) {
    std::ifstream in(corpus_dir() + "/" + name);
    if (!in) throw std::runtime_error("cannot open " + corpus_dir() + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str());
}

// A corpus id ("v1.boolean.rollout_included") as a GoogleTest name.
std::string test_name(const testing::TestParamInfo<json::value>& info) {
    std::string name(info.param.at("id").as_string());
    for (char& ch : name)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return name;
}

// The corpus is sha1 throughout: every flag carries the extension field.
json::value with_sha1_bucketing(json::value definitions) {
    for (auto& flag : definitions.as_object()["flags"].as_array())
        flag.as_object()["bucketing"] = "sha1";
    return definitions;
}

class EvaluationCase : public testing::TestWithParam<json::value> {};

TEST_P(EvaluationCase, MatchesReference) {
    const json::value& c = GetParam();
    const FlagSet set = FlagSet::parse(with_sha1_bucketing(c.at("definitions")), Bucketing::Xxh3);
    const JsonContext context(c.at("context"));
    const json::object actual = summary_json(set.evaluate_all(context.context()));
    const json::object& flags = actual.at("flags").as_object();

    for (const auto& [key, expected] : c.at("expected").at("flags").as_object()) {
        SCOPED_TRACE(std::string(key));
        ASSERT_TRUE(flags.contains(key));
        const auto& got = flags.at(key).as_object();
        EXPECT_EQ(got.at("value"), expected.at("value"));
        EXPECT_EQ(got.at("enabled"), expected.at("enabled"));
        EXPECT_EQ(got.at("variant"), expected.at("variant"));
        EXPECT_EQ(got.at("payload"), expected.at("payload"));
        EXPECT_EQ(got.at("reason").at("code"), expected.at("reason").at("code"));
        EXPECT_EQ(got.at("reason").at("condition_index"),
                  expected.at("reason").at("condition_index"));
    }
    for (const auto& omitted : c.at("expected").at("omitted_flags").as_array())
        EXPECT_FALSE(flags.contains(omitted.as_string())) << omitted;
    EXPECT_EQ(flags.size(), c.at("expected").at("flags").as_object().size());
}

std::vector<json::value> evaluation_cases() {
    const json::value corpus = load("v1_evaluation.json");
    const auto& cases = corpus.at("cases").as_array();
    return {cases.begin(), cases.end()};
}

INSTANTIATE_TEST_SUITE_P(PostHogV1, EvaluationCase, testing::ValuesIn(evaluation_cases()),
                         test_name);

TEST(Conformance, CorpusHasAllCases) { EXPECT_EQ(evaluation_cases().size(), 31u); }

class HashVector : public testing::TestWithParam<json::value> {};

TEST_P(HashVector, Sha1MatchesReference) {
    const json::object& v = GetParam().as_object();
    const std::string prefix(v.at("prefix").as_string());
    const std::string identifier(v.at("identifier").as_string());
    const std::string salt(v.at("salt").as_string());
    const double h = hash01(Bucketing::Sha1, prefix, identifier, salt);
    // Bit-for-bit: the reference value is the same binary64 division.
    EXPECT_EQ(h, v.at("hash01").to_number<double>());
    if (const auto* checks = v.if_contains("rollout_checks")) {
        for (const auto& check : checks->as_array()) {
            const double pct = check.at("rollout_percentage").to_number<double>();
            const bool included = pct >= 100.0 || h <= pct / 100.0;
            EXPECT_EQ(included, check.at("included").as_bool()) << "at " << pct << "%";
        }
    }
}

std::vector<json::value> hash_vectors() {
    const json::value corpus = load("hash_sha1_60_v1.json");
    const auto& vectors = corpus.at("vectors").as_array();
    return {vectors.begin(), vectors.end()};
}

INSTANTIATE_TEST_SUITE_P(PostHogSha1, HashVector, testing::ValuesIn(hash_vectors()), test_name);

TEST(Conformance, CorpusHasAllHashVectors) { EXPECT_EQ(hash_vectors().size(), 11u); }

}  // namespace
