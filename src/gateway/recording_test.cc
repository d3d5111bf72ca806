#include "gateway/recording.h"
#include <gtest/gtest.h>
