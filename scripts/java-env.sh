# Sourced by ./build, ./owl2j and .ci/run: finds a JDK >= 25 and exports JAVA_HOME and PATH.
# The version comes from the JDK's release file when it has one: starting a JVM only to ask would cost every
# ./owl2j call a second JVM start.
owl2j_java_ok() {
  [ -x "$1/bin/java" ] || return 1
  if [ -f "$1/release" ] && grep -q '^JAVA_VERSION=' "$1/release"; then
    grep -qE '^JAVA_VERSION="(2[5-9]|[3-9][0-9])' "$1/release"
  else
    "$1/bin/java" -version 2>&1 | grep -qE 'version "(2[5-9]|[3-9][0-9])'
  fi
}
if [ -n "${JAVA_HOME:-}" ] && owl2j_java_ok "$JAVA_HOME"; then
  :
else
  for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25* /usr/lib/jvm/*25* /usr/lib/jvm/*; do
    if owl2j_java_ok "$candidate"; then JAVA_HOME="$candidate"; break; fi
  done
fi
if [ -z "${JAVA_HOME:-}" ] || ! owl2j_java_ok "$JAVA_HOME"; then
  echo "owl2j: no JDK 25 or newer found; install one (e.g. Temurin 25) or set JAVA_HOME" >&2
  exit 1
fi
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"
