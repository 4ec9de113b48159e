// The properties column's statistics as sample person documents, for the planner support function
// (planner_selectivity.cpp, planner_index_condition.cpp): its most common values with their
// frequencies, then its histogram bounds, which stand for the rest of the non-null rows in equal
// parts. Whole documents, so a flag's filters (or a key's presence) can be judged on them as
// evaluation would.
//
// read_property_samples() calls PostgreSQL (catalog lookups, detoasting) and may raise: call it,
// and release_property_samples(), from a frame without C++ objects.
#pragma once
#include "pg/pg_headers.hpp"

extern "C" {
#include "utils/lsyscache.h"
#include "utils/selfuncs.h"
}

namespace flag_eval::pg {

// One set of sample documents (detoasted jsonb) with the share of rows each stands for.
struct Sample {
    Datum* values = nullptr;
    int count = 0;
    const float4* frequencies = nullptr;  // per value; null: weight_each for every one
    double weight_each = 0.0;
    double weight(int i) const { return frequencies ? frequencies[i] : weight_each; }
    Jsonb* document(int i) const { return reinterpret_cast<Jsonb*>(DatumGetPointer(values[i])); }
};

struct PropertySamples {
    Sample sets[2];
    int set_count = 0;      // 0: no statistics (never analysed, or not a column)
    double null_share = 0;  // of the rows: NULL properties
    // What release_property_samples() gives back.
    VariableStatData vardata;
    AttStatsSlot mcv, histogram;
    bool examined = false, have_mcv = false, have_histogram = false;
};

// The statistics of `properties` (an expression of the query: a column has them) as seen from
// relation `var_relid` (0: any).
void read_property_samples(PlannerInfo* root, Node* properties, int var_relid,
                           PropertySamples& samples);
void release_property_samples(PropertySamples& samples);

}  // namespace flag_eval::pg
