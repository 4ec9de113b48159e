// The only way src/pg includes PostgreSQL: every header inside extern "C", postgres.h first;
// and the one helper every entry point shares to read a text argument.
// Include it after every src/core header: the core refuses to compile once postgres.h is in
// (core/no_postgres.hpp).
#pragma once

// PostgreSQL 15 defines PGDLLEXPORT as nothing on ELF platforms, and the extension is built with
// -fvisibility=hidden: give the entry points (PG_FUNCTION_INFO_V1, PG_MODULE_MAGIC) default
// visibility so that the server can find them. c.h keeps a definition made before it.
#ifndef PGDLLEXPORT
#define PGDLLEXPORT __attribute__((visibility("default")))
#endif

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
}

#include <string_view>

// Declares an SQL entry point: PG_FUNCTION_INFO_V1 exports only the info function, and the library
// is built with -fvisibility=hidden, so the function itself is declared PGDLLEXPORT first.
#define FLAG_EVAL_SQL_FUNCTION(name)          \
    PGDLLEXPORT Datum name(PG_FUNCTION_ARGS); \
    PG_FUNCTION_INFO_V1(name)

namespace flag_eval::pg {

// A text datum's bytes, in place (the datum as PG_GETARG_TEXT_PP gave it).
inline std::string_view view_of(text* t) { return {VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)}; }

}  // namespace flag_eval::pg
