#include "gateway/recording.h"
