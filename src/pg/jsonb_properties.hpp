// All reading of jsonb in the extension. Properties are read in place: a key is looked up in the
// jsonb container (getKeyJsonValueFromContainer), strings are views into the datum, numbers are
// read through numeric_out (palloc'd in the current memory context, so valid for the call) as a
// double plus, for integers, their text; arrays and objects carry their JSON text
// (JsonbToCString). Nothing is converted up front.
#pragma once
#include "core/evaluation_context.hpp"
#include "core/property_value.hpp"

#include <boost/json/value.hpp>

#include <deque>
#include <string>

#include "pg/pg_headers.hpp"  // PostgreSQL headers come after every core header

namespace flag_eval::pg {

// A PropertySource over a jsonb object container. The container must outlive the source and
// the values it hands out.
class JsonbPropertySource final : public PropertySource {
public:
    explicit JsonbPropertySource(JsonbContainer* object) : object_(object) {}
    PropertyValue get(std::string_view key) const override;

private:
    JsonbContainer* object_;
};

// The person properties argument of flag_eval / flag_variant: a jsonb object.
// Throws InvalidInput naming the path when it is not an object.
JsonbContainer* properties_object(Jsonb* properties);

// An EvaluationContext read from the context jsonb (docs/reference.md, SQL interface):
// {distinct_id, device_id, person_properties, groups, group_properties, group_type_mapping,
// evaluation_runtime, evaluation_contexts}. Its properties are JsonbPropertySources over the
// datum, which must outlive this object.
// Throws InvalidInput ("invalid context at $.person_properties: expected an object").
class JsonbContext {
public:
    explicit JsonbContext(Jsonb* context);
    JsonbContext(const JsonbContext&) = delete;
    JsonbContext& operator=(const JsonbContext&) = delete;

    const EvaluationContext& context() const { return context_; }

private:
    void read_scope(JsonbContainer* root);

    std::deque<JsonbPropertySource> sources_;
    EmptyPropertySource empty_;
    RequestScope scope_;
    EvaluationContext context_;
};

// ---- plain-data reads for decide() (stored_subject.cpp, decide_functions.cpp) ----

// The root container of a jsonb argument when it is an object; nullptr for none (nullptr) or for
// any other JSON type. Neither allocates nor raises.
JsonbContainer* object_root(Jsonb* jsonb);

// The root container of a jsonb document, whatever its JSON type. Neither allocates nor raises.
JsonbContainer* root_container(Jsonb* jsonb);

// Whether a container has no members or elements. Neither allocates nor raises.
bool container_is_empty(JsonbContainer* container);

// jsonb_typeof's name for the document's type ("array", "string", ...), palloc'd. It may raise:
// call it from a frame without live C++ objects.
const char* jsonb_type_name(Jsonb* jsonb);

// The member `key` of an object container, found or not, and its container when it is an object
// (nullptr when it is anything else, JSON null included). Neither allocates nor raises.
struct MemberObject {
    bool found;
    JsonbContainer* object;
};
MemberObject member_object(JsonbContainer* object, std::string_view key);

// One member of an object with its value as text: a string's characters (into the datum), a
// number's numeric_out text (palloc'd), or nothing for any other type. Plain data.
struct MemberText {
    enum class Kind { String, Number, Other };
    const char* key;  // into the datum
    int key_length;
    Kind kind;
    const char* text;  // nullptr for Other
    int text_length;
};

// The direct members of an object container, in order, in a palloc'd array. It may raise
// (palloc, numeric_out): call it from a frame without live C++ objects, or inside guarded().
MemberText* member_texts(JsonbContainer* object, int* count);

// The jsonb document as a Boost.JSON value (a flag definition, or a definitions document).
// Throws InvalidDefinition at "$" when Boost.JSON cannot represent it (nesting too deep).
boost::json::value jsonb_to_json(Jsonb* jsonb);

// JSON text as a palloc'd jsonb datum. jsonb_in may raise: call it from an entry point's plain
// frame only, never from C++ work.
Datum jsonb_from_text(const char* json);

}  // namespace flag_eval::pg
