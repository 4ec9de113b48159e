#include "decide/api/remote_config.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>

namespace flag_eval::decide {

bool is_public_token(std::string_view token) {
    return !token.empty() && token.size() <= 200 &&
           std::all_of(token.begin(), token.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
           });
}

bool has_active_flags(const FlagSet& flags) {
    return std::any_of(flags.flags().begin(), flags.flags().end(),
                       [](const auto& flag) { return flag->active && !flag->deleted; });
}

std::string remote_config_json(std::string_view token, bool has_feature_flags) {
    const boost::json::object config{
        {"token", token},
        {"supportedCompression", boost::json::array{"gzip", "gzip-js"}},
        {"hasFeatureFlags", has_feature_flags},
        {"autocapture_opt_out", true},
        {"sessionRecording", false},
        {"surveys", false},
        {"heatmaps", false},
        {"captureDeadClicks", false},
        {"capturePerformance", false},
        {"autocaptureExceptions", false},
        {"conversations", false},
        {"productTours", false},
        {"siteApps", boost::json::array{}},
    };
    return boost::json::serialize(config);
}

// The token is a public token ([A-Za-z0-9_-]) and the config JSON, so neither can end the
// string or the script.
std::string remote_config_script(std::string_view token, std::string_view config_json) {
    std::string script =
        "(function(){var c=window._POSTHOG_REMOTE_CONFIG=window._POSTHOG_REMOTE_CONFIG||{};c[\"";
    script.append(token).append("\"]={config:").append(config_json).append(",siteApps:[]};})();\n");
    return script;
}

}  // namespace flag_eval::decide
