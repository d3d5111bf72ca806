#include "testing/sshd.h"
