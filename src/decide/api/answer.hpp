// The answer to one decide request, whatever produced it: the in-process core, the database's
// flag_eval.decide(), or a failure. The HTTP layer turns it into a /flags body (answer_shapes).
#pragma once
#include "core/flag_answer.hpp"  // FlagAnswer: one flag, as the core defines it for every host

#include <vector>

namespace flag_eval::decide {

struct Answer {
    std::vector<FlagAnswer> flags;  // in the order they are written out
    bool errors_while_computing = false;
};

}  // namespace flag_eval::decide
