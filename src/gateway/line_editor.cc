#include "gateway/line_editor.h"
