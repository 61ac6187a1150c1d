// Copy floor of the prefix-sum task (benchmarks only): median ms of a D2D copy of n int32.
#pragma once

double copy_floor_ms(long long n, int samples);
