#include "gateway/line_editor.h"
#include <gtest/gtest.h>
