#!/usr/bin/env bash
# The whole study on a SLURM cluster: build the cache in 8 shards, merge, train the
# comparison grid in 16 array tasks, then write the report — each step waiting for the
# one before. Run from this folder:
#
#   SOURCE=/data/AML-Cytomorphology_LMU WORK=$SCRATCH/matek19 ./submit.sh
set -euo pipefail
: "${SOURCE:?set SOURCE}" "${WORK:?set WORK}"
export SOURCE WORK
build=$(sbatch --parsable --array=1-8 build.sbatch)
merge=$(sbatch --parsable --dependency=afterok:"$build" merge.sbatch)
grid=$(sbatch --parsable --dependency=afterok:"$merge" --array=1-16 compare.sbatch)
report=$(sbatch --parsable --dependency=afterany:"$grid" report.sbatch)
echo "build $build, merge $merge, compare $grid, report $report"
