#include "gateway/transfer.h"
#include <gtest/gtest.h>
