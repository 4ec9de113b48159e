// The extension's module: PostgreSQL's compatibility check for the shared library.
#include "pg/pg_headers.hpp"

extern "C" {
PG_MODULE_MAGIC;
}
