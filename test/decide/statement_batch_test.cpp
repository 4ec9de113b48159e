// The batch form's parameters: one PostgreSQL array literal per parameter, element i from call i.
// (Batches against a real server: route_set_test.cpp.)
#include "decide/database/statement_batch.hpp"

#include <gtest/gtest.h>

using namespace flag_eval::decide;

TEST(StatementBatch, EachParameterBecomesAnArrayWithOneElementPerCall) {
    const QueryParams first{"phc_a", std::nullopt, "{\"plan\": \"pro\"}"};
    const QueryParams second{"phc_b", "user \"2\"", "back\\slash, {brace}"};
    const QueryParams arrays = batch_parameters({&first, &second});
    ASSERT_EQ(arrays.size(), 3u);
    EXPECT_EQ(arrays[0], "{\"phc_a\",\"phc_b\"}");
    EXPECT_EQ(arrays[1], "{NULL,\"user \\\"2\\\"\"}");
    EXPECT_EQ(arrays[2], "{\"{\\\"plan\\\": \\\"pro\\\"}\",\"back\\\\slash, {brace}\"}");
}

TEST(StatementBatch, AnEmptyStringIsAnElementNotNull) {
    const QueryParams only{""};
    EXPECT_EQ(batch_parameters({&only}), (QueryParams{"{\"\"}"}));
    EXPECT_TRUE(batch_parameters({}).empty());
}
