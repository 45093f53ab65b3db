/* The C client's implementation, compiled once as C (gcc -std=c11): C++ code includes allocwatch.hpp
 * (declarations only) and links this object, so it never compiles the C implementation itself. */
#define ALLOCWATCH_IMPLEMENTATION
#include "../c/allocwatch.h"
