// The boundary between an entry point and its C++ work: run_cpp() runs the work, catches every
// exception and copies what is needed for the error into plain buffers; only after its frame
// (and every C++ object of the work) is gone does the entry point call raise_error(), which
// ereports. No C++ exception crosses into PostgreSQL and no longjmp crosses a C++ destructor.
#pragma once
#include "core/problems.hpp"

#include <cstdio>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include "pg/pg_guard.hpp"  // PostgreSQL headers come after every core header

namespace flag_eval::pg {

// Bad input that is not a flag definition (the context, the properties, a bucketing name), with
// the whole message already worded: "invalid context at $.person_properties: expected an object".
class InvalidInput : public std::runtime_error {
public:
    explicit InvalidInput(const std::string& message, std::string hint = "")
        : std::runtime_error(message), hint_(std::move(hint)) {}
    const std::string& hint() const { return hint_; }

private:
    std::string hint_;
};

// What the entry point raises, as plain data (it lives in the entry point's frame). The buffers
// are left uninitialised on purpose: every entry point declares one per row, zero-filling 3.5 KB
// cost 10 % of a scan, and describe_current_exception writes them before anything reads them.
struct ErrorReport {
    int sqlerrcode = 0;
    char message[2048];
    char detail[1024];
    char hint[512];
};

// Fills `report` from the exception being handled; no allocation, no PostgreSQL call.
// `definition_what` names what an InvalidDefinition is about ("flag definition").
void describe_current_exception(ErrorReport& report, const char* definition_what) noexcept;

// Runs work(); true when it returned, false (with `report` filled) when it threw.
template <class Work>
bool run_cpp(ErrorReport& report, const char* definition_what, Work&& work) noexcept {
    try {
        work();
        return true;
    } catch (...) {
        describe_current_exception(report, definition_what);
        return false;
    }
}

// ereport(ERROR) with the report. Call it only from a frame without live C++ objects.
[[noreturn]] void raise_error(const ErrorReport& report);

}  // namespace flag_eval::pg
