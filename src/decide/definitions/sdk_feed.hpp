// The body of GET /flags/definitions for one team: the local-evaluation feed PostHog SDKs poll
// ({flags, group_type_mapping, cohorts, property_matching_version}, as posthog-node 5 reads it),
// and its ETag.
//
// The feed must never let an SDK answer differently from this service (docs/reference.md, Decide
// protocol). PostHog SDKs bucket with SHA-1 only, and skip parts of a definition they do not know;
// a flag they would get wrong is handed over with `ensure_experience_continuity: true`, the one
// switch every PostHog SDK honours by asking the server for that flag instead (posthog-node throws
// InconclusiveMatchError for it and falls back to /flags). Such a flag is one that:
//   - buckets with anything but sha1 (xxh3, this project's default);
//   - has a condition set that aggregates by a group and filters on anything but that group
//     (posthog-node reads every filter of such a set from the group's properties), or one that
//     aggregates by the person (null) inside a group flag (posthog-node keeps the group);
//   - has an early-access gate (`super_groups`, `feature_enrollment`) or legacy `holdout_groups`,
//     which posthog-node does not evaluate;
//   - depends on such a flag, or on a flag it cannot resolve (missing, or on a cycle), or uses a
//     cohort that itself contains flag filters (posthog-node resolves those without the chain
//     the server would use).
// Every flag filter in a flag's condition groups carries `dependency_chain`, as PostHog's server
// produces it: the keys to evaluate first, dependencies before dependents, ending with the flag
// filtered on; empty when that flag is missing or on a cycle. Static cohorts are not in the feed
// (an SDK meeting one asks the server: RequiresServerEvaluation).
#pragma once
#include "core/bucketing.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace flag_eval::decide {

struct SdkFeed {
    std::string body;                           // compact JSON
    std::string etag;                           // strong, quoted: "\"<sha-256 hex>\""
    std::vector<std::string> server_only_keys;  // flags handed over as needing the server
};

// `team_document` is _team_document()'s {flags, group_type_mapping, cohorts, static_cohort_ids,
// property_matching_version};
// a flag without "bucketing" has the team's. Throws std::invalid_argument when the document is
// not of that shape (the definitions cache has compiled it before, so this is a bug guard).
SdkFeed build_sdk_feed(const boost::json::object& team_document, Bucketing team_bucketing);

// A strong ETag of `body`: its SHA-256, in hex, quoted.
std::string strong_etag(std::string_view body);

// Whether an If-None-Match header value names `etag` (RFC 9110 section 13.1.2: "*", or a
// comma-separated list compared weakly, so W/"x" matches "x").
bool etag_matches(std::string_view if_none_match, std::string_view etag);

}  // namespace flag_eval::decide
