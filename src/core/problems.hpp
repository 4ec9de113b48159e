// What is wrong with a definition, located by JSON path ("$.filters.groups[0].rollout_percentage").
// Structural problems make a definition unusable; semantic ones are tolerated by evaluation the
// way the reference tolerates them, and only reported by validation.
#pragma once
#include "no_postgres.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace flag_eval {

struct Problem {
    enum class Severity { Invalid, Warning };
    Severity severity;
    std::string path;
    std::string message;
};

class Problems {
public:
    void invalid(std::string path, std::string message) {
        items_.push_back({Problem::Severity::Invalid, std::move(path), std::move(message)});
    }
    void warning(std::string path, std::string message) {
        items_.push_back({Problem::Severity::Warning, std::move(path), std::move(message)});
    }
    bool any_invalid() const {
        for (const auto& p : items_)
            if (p.severity == Problem::Severity::Invalid) return true;
        return false;
    }
    const Problem* first_invalid() const {
        for (const auto& p : items_)
            if (p.severity == Problem::Severity::Invalid) return &p;
        return nullptr;
    }
    const std::vector<Problem>& items() const { return items_; }

private:
    std::vector<Problem> items_;
};

// Raised when a definition cannot be compiled; hosts map it to SQLSTATE 22023 / HTTP 400.
class InvalidDefinition : public std::runtime_error {
public:
    InvalidDefinition(std::string path, const std::string& message)
        : std::runtime_error(path + ": " + message), path_(std::move(path)), detail_(message) {}
    const std::string& path() const { return path_; }
    const std::string& detail() const { return detail_; }

private:
    std::string path_;
    std::string detail_;
};

}  // namespace flag_eval
