// The answer to one decide request, whatever produced it: the in-process core, the database's
// outcomes, decide()'s JSON, or a failure. The HTTP layer turns it into a /flags body
// (answer_shapes).
//
// Its flags are views, so that answering 50 flags copies no string: into the team's definitions
// (which the answer holds), into string literals, and into text the answer keeps itself.
#pragma once
#include "core/flag_answer.hpp"  // FlagAnswer(View): one flag, as the core defines it for every host
#include "core/flags_v2_writer.hpp"  // FlagKeys

#include <chrono>
#include <forward_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flag_eval::decide {

class Answer {
public:
    std::vector<FlagAnswerView> flags;    // in the order they are written out
    FlagKeys keys = FlagKeys::MayRepeat;  // Unique: from a FlagSet with unique keys
    bool errors_while_computing = false;
    // How old the service's definitions it was computed from are (DefinitionsFreshness); none
    // when they were never confirmed or decide() answered alone.
    std::optional<std::chrono::system_clock::duration> definitions_age;
    ReasonDescriptions descriptions;  // the reasons' descriptions the views point into

    Answer() = default;
    // Moving keeps every view valid (lists move their nodes); a copy would not, hence none.
    Answer(Answer&&) = default;
    Answer& operator=(Answer&&) = default;
    Answer(const Answer&) = delete;
    Answer& operator=(const Answer&) = delete;

    // Keeps what the views point into alive as long as the answer (a team's definitions).
    void hold(std::shared_ptr<const void> definitions) { held_ = std::move(definitions); }
    // A copy of `text` that lives as long as the answer.
    std::string_view keep(std::string_view text) { return texts_.emplace_front(text); }
    // Appends a flag whose strings it owns: the answer keeps it, and views it.
    void add(FlagAnswer flag) { flags.push_back(view_of(owned_.emplace_front(std::move(flag)))); }

private:
    // Lists, not deques: nothing is allocated while they are empty, as they usually are, and
    // their nodes stay where they are.
    std::shared_ptr<const void> held_;
    std::forward_list<std::string> texts_;
    std::forward_list<FlagAnswer> owned_;
};

}  // namespace flag_eval::decide
