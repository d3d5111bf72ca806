# The two entry points a new user needs (see README.md); everything else is CMake presets.
.PHONY: run test bench fuzz

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

bench:
	bash scripts/bench.sh
