#include "pg/property_samples.hpp"

#include <algorithm>

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_statistic.h"
}

namespace flag_eval::pg {

void read_property_samples(PlannerInfo* root, Node* properties, int var_relid,
                           PropertySamples& samples) {
    examine_variable(root, properties, var_relid, &samples.vardata);
    samples.examined = true;
    if (!HeapTupleIsValid(samples.vardata.statsTuple)) return;
    samples.null_share =
        reinterpret_cast<Form_pg_statistic>(GETSTRUCT(samples.vardata.statsTuple))->stanullfrac;
    samples.have_mcv =
        get_attstatsslot(&samples.mcv, samples.vardata.statsTuple, STATISTIC_KIND_MCV, InvalidOid,
                         ATTSTATSSLOT_VALUES | ATTSTATSSLOT_NUMBERS);
    samples.have_histogram =
        get_attstatsslot(&samples.histogram, samples.vardata.statsTuple, STATISTIC_KIND_HISTOGRAM,
                         InvalidOid, ATTSTATSSLOT_VALUES);
    const AttStatsSlot& mcv = samples.mcv;
    double mcv_share = 0.0;
    if (samples.have_mcv && mcv.nvalues > 0 && mcv.nnumbers == mcv.nvalues) {
        for (int i = 0; i < mcv.nnumbers; ++i) mcv_share += mcv.numbers[i];
        samples.sets[samples.set_count++] = {mcv.values, mcv.nvalues, mcv.numbers, 0.0};
    }
    const AttStatsSlot& histogram = samples.histogram;
    if (samples.have_histogram && histogram.nvalues > 0) {
        const double rest = std::max(0.0, 1.0 - samples.null_share - mcv_share);
        samples.sets[samples.set_count++] = {histogram.values, histogram.nvalues, nullptr,
                                             rest / histogram.nvalues};
    }
    for (int s = 0; s < samples.set_count; ++s)
        for (int i = 0; i < samples.sets[s].count; ++i)
            samples.sets[s].values[i] =
                PointerGetDatum(PG_DETOAST_DATUM(samples.sets[s].values[i]));
}

void release_property_samples(PropertySamples& samples) {
    if (samples.have_mcv) free_attstatsslot(&samples.mcv);
    if (samples.have_histogram) free_attstatsslot(&samples.histogram);
    if (samples.examined) ReleaseVariableStats(samples.vardata);
}

}  // namespace flag_eval::pg
