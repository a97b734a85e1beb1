#!/usr/bin/env bash
# Hybrid-Bridge launcher: installs missing system packages, builds what is out of date, runs the CLI.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$root/scripts/system-packages" --ensure >&2
classpath_file="$root/runners/target/hb.classpath"
if [[ ! -f "$classpath_file" ]] || [[ -n "$(find "$root" -path "$root/*/target" -prune -o \
      \( -path '*/src/*' -o -name pom.xml \) -type f -newer "$classpath_file" -print -quit)" ]]; then
  echo "hb: building (mvn package, tests skipped)..." >&2
  # Maven 3.8's -q still prints colour resets; strip them so the terminal shows only what matters.
  (cd "$root" && mvn -B -q -Dstyle.color=never -DskipTests package dependency:build-classpath \
      -Dmdep.outputFile=target/hb.classpath -DincludeScope=runtime 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2)
  touch "$classpath_file"   # Maven leaves an unchanged class path file untouched: mark this build as done
fi
# The throughput collector: a scan is a batch job, and it made both paths and a fleet scan ≈ 11–13 % faster than G1
# (docs/PERFORMANCE.md, "Garbage collector").
exec java ${HB_JAVA_OPTS:--Xmx4g -XX:+UseParallelGC} -cp "$root/runners/target/classes:$(cat "$classpath_file")" \
  io.hybridbridge.cli.Hb "$@"
