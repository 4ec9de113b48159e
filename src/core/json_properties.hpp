// PropertySource over a Boost.JSON object, and an EvaluationContext built from the context JSON
// {distinct_id, device_id, person_properties, groups, group_properties, group_type_mapping,
// evaluation_runtime, evaluation_contexts}
// (docs/reference.md, SQL interface). Used by the service and the tests; PostgreSQL reads jsonb in
// place.
#pragma once
#include "no_postgres.hpp"
#include "evaluation_context.hpp"
#include "property_value.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <deque>
#include <memory>
#include <string>

namespace flag_eval {

class JsonPropertySource final : public PropertySource {
public:
    explicit JsonPropertySource(const boost::json::object* object) : object_(object) {}
    PropertyValue get(std::string_view key) const override;

private:
    const boost::json::object* object_;
    mutable std::deque<std::string> texts_;  // decimal and JSON texts handed out as views
};

// Owns the sources an EvaluationContext points at; keep it alive while the context is used.
class JsonContext {
public:
    // Throws InvalidDefinition (naming the path) when the context has the wrong shape.
    explicit JsonContext(const boost::json::value& context_json);
    JsonContext(const JsonContext&) = delete;  // the context holds views into this object
    JsonContext& operator=(const JsonContext&) = delete;
    const EvaluationContext& context() const { return context_; }

private:
    void read_scope(const boost::json::object& o);

    boost::json::value json_;
    std::deque<JsonPropertySource> sources_;
    EmptyPropertySource empty_;
    RequestScope scope_;
    EvaluationContext context_;
};

// Parses {"0": "organization", ...} into `mapping`; throws InvalidDefinition.
void parse_group_type_mapping(const boost::json::value& json, const std::string& path,
                              GroupTypeMapping& mapping);

}  // namespace flag_eval
