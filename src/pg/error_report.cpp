#include "pg/error_report.hpp"

#include <cstring>

namespace flag_eval::pg {
namespace {

void copy_text(char* buffer, std::size_t size, const char* text) noexcept {
    snprintf(buffer, size, "%s", text);
}

}  // namespace

void describe_current_exception(ErrorReport& report, const char* definition_what) noexcept {
    report.detail[0] = '\0';
    report.hint[0] = '\0';
    try {
        throw;
    } catch (const InvalidDefinition& e) {
        report.sqlerrcode = ERRCODE_INVALID_PARAMETER_VALUE;
        snprintf(report.message, sizeof report.message, "invalid %s at %s: %s", definition_what,
                 e.path().c_str(), e.detail().c_str());
    } catch (const InvalidInput& e) {
        report.sqlerrcode = ERRCODE_INVALID_PARAMETER_VALUE;
        copy_text(report.message, sizeof report.message, e.what());
        copy_text(report.hint, sizeof report.hint, e.hint().c_str());
    } catch (const PgError& e) {
        // A PostgreSQL error caught by the guard: raised again as it was.
        report.sqlerrcode = e.sqlerrcode();
        copy_text(report.message, sizeof report.message, e.what());
        copy_text(report.detail, sizeof report.detail, e.detail().c_str());
        copy_text(report.hint, sizeof report.hint, e.hint().c_str());
    } catch (const std::bad_alloc&) {
        report.sqlerrcode = ERRCODE_OUT_OF_MEMORY;
        copy_text(report.message, sizeof report.message, "out of memory");
    } catch (const std::exception& e) {
        report.sqlerrcode = ERRCODE_INTERNAL_ERROR;
        snprintf(report.message, sizeof report.message, "flag_eval internal error: %s", e.what());
    } catch (...) {
        report.sqlerrcode = ERRCODE_INTERNAL_ERROR;
        copy_text(report.message, sizeof report.message,
                  "flag_eval internal error: unknown exception");
    }
}

void raise_error(const ErrorReport& report) {
    ereport(ERROR, (errcode(report.sqlerrcode), errmsg_internal("%s", report.message),
                    report.detail[0] ? errdetail_internal("%s", report.detail) : 0,
                    report.hint[0] ? errhint("%s", report.hint) : 0));
    pg_unreachable();
}

}  // namespace flag_eval::pg
