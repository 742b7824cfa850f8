// Umbrella header for the embedded C++ API.
#pragma once

#include "runnel/log.h"
#include "runnel/options.h"
#include "runnel/record.h"
#include "runnel/status.h"
