#include "core/flag_parser.hpp"
#include "pg/flag_cache.hpp"

#include <cstring>
#include <new>

#include "pg/jsonb_properties.hpp"
#include "pg/pg_guard.hpp"

extern "C" {
#include "nodes/pg_list.h"
#include "nodes/primnodes.h"
}

namespace flag_eval::pg {
namespace {

// Lives in fn_mcxt. The compiled object is owned through a raw pointer that the reset callback
// deletes when fn_mcxt goes away (end of query) or is reset.
template <class Compiled>
struct CacheEntry {
    MemoryContextCallback callback;
    MemoryContext context = nullptr;
    char* key = nullptr;  // a copy of the jsonb's bytes (whole varlena)
    std::size_t key_size = 0;
    Compiled* compiled = nullptr;
    int kind = 0;  // guards against another user of fn_extra
    // A constant argument cannot change while this call site lives: once compiled, the per-row
    // byte comparison is skipped (it cost 2 % of a scan). Not a parameter: a plpgsql simple
    // expression keeps its call site (fn_extra) across evaluations with other parameter values.
    bool argument_is_constant = false;

    static void release(void* arg) noexcept {
        auto* entry = static_cast<CacheEntry*>(arg);
        delete entry->compiled;
        entry->compiled = nullptr;
        entry->key = nullptr;  // freed with fn_mcxt
        entry->key_size = 0;
    }
};

constexpr int kFlagEntry = 0x46;     // 'F'
constexpr int kFlagSetEntry = 0x53;  // 'S'
constexpr int kTeamEntry = 0x54;     // 'T'

void* context_alloc_or_throw(MemoryContext context, std::size_t size) {
    void* p = MemoryContextAllocExtended(context, size,
                                         MCXT_ALLOC_NO_OOM | MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}

// Whether the call's first argument is a Const node (get_fn_expr_arg_stable would also accept
// an external Param).
bool first_argument_is_constant(FmgrInfo* flinfo) {
    if (flinfo->fn_expr == nullptr || !IsA(flinfo->fn_expr, FuncExpr)) return false;
    const List* args = reinterpret_cast<FuncExpr*>(flinfo->fn_expr)->args;
    return args != nullptr && list_length(args) > 0 && IsA(linitial(args), Const);
}

// The entry in fn_extra, created (with its reset callback registered) on first use.
template <class Compiled>
CacheEntry<Compiled>* entry_of(FmgrInfo* flinfo, int kind) {
    if (flinfo->fn_extra != nullptr) {
        auto* entry = static_cast<CacheEntry<Compiled>*>(flinfo->fn_extra);
        if (entry->kind != kind) throw std::logic_error("fn_extra holds something else");
        return entry;
    }
    void* memory = context_alloc_or_throw(flinfo->fn_mcxt, sizeof(CacheEntry<Compiled>));
    auto* entry =
        new (memory) CacheEntry<Compiled>();  // trivially destructible: freed with the context
    entry->context = flinfo->fn_mcxt;
    entry->kind = kind;
    entry->argument_is_constant = first_argument_is_constant(flinfo);
    entry->callback.func = &CacheEntry<Compiled>::release;
    entry->callback.arg = entry;
    MemoryContextRegisterResetCallback(flinfo->fn_mcxt, &entry->callback);
    flinfo->fn_extra = entry;
    return entry;
}

template <class Compiled, class Compile>
const Compiled& cached(FunctionCallInfo fcinfo, Jsonb* jsonb, std::unique_ptr<Compiled>& uncached,
                       int kind, Compile compile) {
    if (fcinfo->flinfo == nullptr) {
        uncached = compile(jsonb);
        return *uncached;
    }
    CacheEntry<Compiled>* entry = entry_of<Compiled>(fcinfo->flinfo, kind);
    const std::size_t size = VARSIZE(jsonb);
    if (entry->compiled && (entry->argument_is_constant ||
                            (entry->key_size == size && std::memcmp(entry->key, jsonb, size) == 0)))
        return *entry->compiled;

    // Compile first: if it throws, the entry keeps its previous, consistent state.
    std::unique_ptr<Compiled> fresh = compile(jsonb);
    char* key = static_cast<char*>(context_alloc_or_throw(entry->context, size));
    std::memcpy(key, jsonb, size);
    delete entry->compiled;
    if (entry->key) pfree(entry->key);
    entry->compiled = fresh.release();
    entry->key = key;
    entry->key_size = size;
    return *entry->compiled;
}

}  // namespace

const Flag& compiled_flag(FunctionCallInfo fcinfo, Jsonb* flag, std::unique_ptr<Flag>& uncached) {
    return cached(fcinfo, flag, uncached, kFlagEntry,
                  [](Jsonb* jsonb) { return compile_flag(jsonb_to_json(jsonb), Bucketing::Xxh3); });
}

const FlagSet& compiled_flag_set(FunctionCallInfo fcinfo, Jsonb* definitions,
                                 std::unique_ptr<FlagSet>& uncached) {
    return cached(fcinfo, definitions, uncached, kFlagSetEntry, [](Jsonb* jsonb) {
        return std::make_unique<FlagSet>(FlagSet::parse(jsonb_to_json(jsonb), Bucketing::Xxh3));
    });
}

const TeamDefinitions& compiled_team_document(FunctionCallInfo fcinfo, Jsonb* document,
                                              std::unique_ptr<TeamDefinitions>& uncached) {
    return cached(fcinfo, document, uncached, kTeamEntry,
                  [](Jsonb* jsonb) { return compile_team_document(jsonb_to_json(jsonb)); });
}

}  // namespace flag_eval::pg
