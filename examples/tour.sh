#!/bin/sh
# A short tour of pure-flux. Run it inside an instance:  flux start sh examples/tour.sh
set -e
echo "== the instance's resources"
flux resource list
echo "== run a job and stream its output"
flux run -n2 sh -c 'echo "hello from task $FLUX_TASK_RANK of $FLUX_JOB_SIZE"'
echo "== submit jobs: one held, one normal"
held=$(flux submit --urgency=hold --job-name=held sleep 1)
job=$(flux submit --job-name=normal sh -c 'exit 3')
flux job wait-event -t 30 "$job" clean >/dev/null
echo "== release the held job (urgency 0 -> 16) and wait for it"
flux job urgency -v "$held" default
flux job wait-event -t 30 "$held" clean
echo "== the normal job's eventlog"
flux job eventlog "$job"
echo "== exit code of the normal job"
flux job status "$job" || echo "exit code $?"
echo "== a job that runs past its time limit"
flux run -t 0.5s sleep 10 || echo "timed out with exit code $?"
echo "== 1000 test-mode jobs (no processes, only the job model)"
flux submit --cc=1-1000 --quiet --wait --setattr=system.exec.test.run_duration=0 true
flux jobs --stats-only -a || true
echo "== job listing"
flux jobs -a -c 5 2>/dev/null
echo "tour done"
