// main() for the store test binaries: registers the PostgreSQL environment so the server stops at the end.
#include <gtest/gtest.h>

#include "support/pg_test_server.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new mcpgate::testing::PostgresTestEnvironment);
  return RUN_ALL_TESTS();
}
