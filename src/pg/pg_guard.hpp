// The one place where PostgreSQL errors (ereport's longjmp) become C++ exceptions.
//
// C++ code in src/pg calls PostgreSQL functions that can raise an error (numeric_out,
// JsonbToCString, palloc, ...) only through guarded(): the call runs under PG_TRY, an error is
// copied out, the error state is flushed and the memory context restored, and after
// PG_END_TRY a PgError is thrown, which unwinds the C++ frames normally. The entry points
// (error_report.hpp) turn it back into a PostgreSQL error with the same SQLSTATE.
#pragma once
#include "pg/pg_headers.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace flag_eval::pg {

// A PostgreSQL error caught by guarded(), as a C++ exception.
class PgError : public std::runtime_error {
public:
    PgError(int sqlerrcode, const std::string& message, std::string detail, std::string hint)
        : std::runtime_error(message),
          sqlerrcode_(sqlerrcode),
          detail_(std::move(detail)),
          hint_(std::move(hint)) {}
    int sqlerrcode() const { return sqlerrcode_; }
    const std::string& detail() const { return detail_; }
    const std::string& hint() const { return hint_; }

private:
    int sqlerrcode_;
    std::string detail_;
    std::string hint_;
};

// Runs fn(arg) under PG_TRY; a PostgreSQL error becomes a PgError thrown after PG_END_TRY.
// fn must not hold C++ objects with destructors: an error longjmps out of it.
void guarded_call(void (*fn)(void*), void* arg);

// guarded_call for a lambda. The lambda's body follows the same rule: plain data only
// (pointers, scalars, captured references), no object with a destructor.
template <class F>
void guarded(F&& f) {
    guarded_call([](void* p) { (*static_cast<std::remove_reference_t<F>*>(p))(); },
                 const_cast<void*>(static_cast<const void*>(&f)));
}

// palloc in the current memory context that throws std::bad_alloc instead of raising.
void* palloc_or_throw(std::size_t size);

// A palloc'd, NUL-terminated copy of s.
char* pstrdup_or_throw(std::string_view s);

// A palloc'd text datum holding s.
text* text_or_throw(std::string_view s);

}  // namespace flag_eval::pg
