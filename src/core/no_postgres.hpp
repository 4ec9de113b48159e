// The engine is shared by the PostgreSQL extension and the decide service, so it must not
// depend on PostgreSQL: every core header includes this guard.
#pragma once

#ifdef POSTGRES_H
static_assert(false, "src/core must not include PostgreSQL headers");
#endif
