#include "pg/pg_guard.hpp"

#include <cstring>
#include <exception>
#include <new>

namespace flag_eval::pg {
namespace {

// Builds the exception from the copied error and frees the copy. Runs after PG_END_TRY, so
// throwing from here is ordinary C++.
[[noreturn]] void throw_copied_error(ErrorData* edata) {
    const int code = edata->sqlerrcode;
    std::string message = edata->message ? edata->message : "unknown PostgreSQL error";
    std::string detail = edata->detail ? edata->detail : "";
    std::string hint = edata->hint ? edata->hint : "";
    FreeErrorData(edata);
    throw PgError(code, message, std::move(detail), std::move(hint));
}

struct GuardedCall {
    void (*fn)(void*);
    void* arg;
    std::exception_ptr exception;
};

// Guarded code should not throw, but if it does, the exception must not leave PG_TRY without
// PG_END_TRY (PostgreSQL's exception stack would keep pointing into a dead frame): it is caught
// here and thrown again after PG_END_TRY.
void call_catching(GuardedCall* call) noexcept {
    try {
        call->fn(call->arg);
    } catch (...) {
        call->exception = std::current_exception();
    }
}

}  // namespace

// A PostgreSQL error longjmps back into this frame, never out of it, so `call` and its
// exception_ptr are not skipped over; `call.exception` is only written on the path without a
// longjmp.
void guarded_call(void (*fn)(void*), void* arg) {
    GuardedCall call{fn, arg, nullptr};
    MemoryContext volatile old_context = CurrentMemoryContext;
    ErrorData* volatile edata = nullptr;
    // PostgreSQL's layout of its PG_TRY blocks, which clang-format would fold.
    // clang-format off
    PG_TRY();
    {
        call_catching(&call);
    }
    PG_CATCH();
    {
        // The error data lives in ErrorContext: copy it into the caller's context, then clear
        // the error state so that PostgreSQL no longer considers an error in progress.
        MemoryContextSwitchTo(old_context);
        edata = CopyErrorData();
        FlushErrorState();
    }
    PG_END_TRY();
    // clang-format on
    if (edata != nullptr) throw_copied_error(edata);
    if (call.exception) std::rethrow_exception(call.exception);
}

void* palloc_or_throw(std::size_t size) {
    // MCXT_ALLOC_NO_OOM: NULL instead of an error when memory runs out; MCXT_ALLOC_HUGE: no
    // error for sizes above 1 GB either (only SIZE_MAX / 2 is refused, which cannot happen here).
    void* p =
        MemoryContextAllocExtended(CurrentMemoryContext, size, MCXT_ALLOC_NO_OOM | MCXT_ALLOC_HUGE);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}

char* pstrdup_or_throw(std::string_view s) {
    char* p = static_cast<char*>(palloc_or_throw(s.size() + 1));
    std::memcpy(p, s.data(), s.size());
    p[s.size()] = '\0';
    return p;
}

text* text_or_throw(std::string_view s) {
    if (s.size() > MaxAllocSize - VARHDRSZ) throw std::length_error("text value too long");
    text* t = static_cast<text*>(palloc_or_throw(VARHDRSZ + s.size()));
    SET_VARSIZE(t, VARHDRSZ + s.size());
    std::memcpy(VARDATA(t), s.data(), s.size());
    return t;
}

}  // namespace flag_eval::pg
