#include "ingest/event.h"
#include <gtest/gtest.h>
