#include "cohorts.hpp"

#include "flag_parser.hpp"
#include "json_access.hpp"

#include <string>

namespace flag_eval {
namespace {

using namespace json_access;
namespace json = boost::json;

constexpr int kMaxCohortDepth = 64;  // nesting deeper than this is hostile input, not a cohort

CohortNode parse_node(const json::value& v, const std::string& path, Problems& problems, int depth,
                      PropertyMatching matching) {
    CohortNode node;
    if (depth > kMaxCohortDepth) {
        problems.invalid(
            path, "cohort nesting is deeper than " + std::to_string(kMaxCohortDepth) + " levels");
        return node;
    }
    if (!v.is_object()) {
        problems.invalid(path, "expected a property group or a property filter");
        return node;
    }
    const auto& o = v.get_object();
    const auto* values = member(o, "values");
    if (!values) {
        node.kind = CohortNode::Kind::Filter;
        node.filter = compile_property_filter(v, path, problems, matching);
        return node;
    }
    const auto type = read_string(o, "type", path, problems).value_or("AND");
    if (type == "AND")
        node.kind = CohortNode::Kind::And;
    else if (type == "OR")
        node.kind = CohortNode::Kind::Or;
    else
        problems.invalid(field_path(path, "type"), "expected \"AND\" or \"OR\"");
    if (!values->is_array()) {
        problems.invalid(field_path(path, "values"), "expected an array");
        return node;
    }
    const std::string vpath = field_path(path, "values");
    const auto& arr = values->get_array();
    for (std::size_t i = 0; i < arr.size(); ++i)
        node.children.push_back(
            parse_node(arr[i], index_path(vpath, i), problems, depth + 1, matching));
    return node;
}

}  // namespace

CohortSet CohortSet::parse(const json::value& v, const std::string& path,
                           PropertyMatching matching) {
    CohortSet set;
    if (v.is_null()) return set;
    Problems problems;
    if (!v.is_object()) {
        throw InvalidDefinition(path, "expected an object of cohorts by id");
    }
    for (const auto& [key, definition] : v.get_object()) {
        const std::string cpath = field_path(path, key);
        std::int64_t id = 0;
        try {
            std::size_t used = 0;
            id = std::stoll(std::string(key), &used);
            if (used != key.size()) throw std::invalid_argument("trailing");
        } catch (const std::exception&) {
            throw InvalidDefinition(cpath, "cohort ids must be integers");
        }
        // A feed may wrap the group as {"properties": {...}}.
        const json::value* root = &definition;
        if (definition.is_object())
            if (const auto* props = member(definition.get_object(), "properties");
                props && props->is_object())
                root = props;
        set.add(id, parse_node(*root, cpath, problems, 0, matching));
    }
    if (const Problem* p = problems.first_invalid()) throw InvalidDefinition(p->path, p->message);
    return set;
}

const CohortNode* CohortSet::find(std::int64_t id) const {
    auto it = cohorts_.find(id);
    return it == cohorts_.end() ? nullptr : &it->second;
}

}  // namespace flag_eval
