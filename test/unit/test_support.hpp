// Small helpers shared by the core unit tests.
#pragma once
#include "core/flag_parser.hpp"
#include "core/flag_set.hpp"
#include "core/json_properties.hpp"
#include "core/result_json.hpp"

#include <boost/json.hpp>

#include <string>

namespace flag_eval::testing_support {

inline boost::json::value parse(const std::string& text) { return boost::json::parse(text); }

// Evaluates a definitions document (or flags array) for a context, returning the summary JSON.
inline boost::json::object evaluate_all(const std::string& definitions, const std::string& context,
                                        Bucketing bucketing = Bucketing::Sha1) {
    const FlagSet set = FlagSet::parse(parse(definitions), bucketing);
    const JsonContext ctx(parse(context));
    return summary_json(set.evaluate_all(ctx.context()));
}

// The detail JSON of one flag evaluated alone.
inline boost::json::object evaluate_one(const std::string& flag, const std::string& context,
                                        Bucketing bucketing = Bucketing::Sha1) {
    const auto compiled = compile_flag(parse(flag), bucketing);
    const JsonContext ctx(parse(context));
    return result_detail_json(*compiled, evaluate_flag(*compiled, ctx.context(), nullptr, nullptr));
}

inline std::string reason_of(const boost::json::object& detail) {
    return std::string(detail.at("reason").at("code").as_string());
}

}  // namespace flag_eval::testing_support
