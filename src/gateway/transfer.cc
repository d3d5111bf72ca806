#include "gateway/transfer.h"
