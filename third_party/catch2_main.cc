// The one main() that every Catch2 unit test links.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
