# Shared by scripts/rebench and scripts/test: install what is missing, configure, build.
# Sourced, not executed. Honours:
#   REBENCH_BUILD_DIR     build folder (default: <repo>/build)
#   REBENCH_NO_INSTALL=1  never call apt-get (e.g. machines without a package registry)
#   REBENCH_DEPS_PREFIX   extra prefix with unpacked dependencies (e.g. /opt/deps/usr)

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${REBENCH_BUILD_DIR:-$REPO_ROOT/build}"

# Debian packages the build, the sandbox and the tests need.
REBENCH_PACKAGES=(cmake ninja-build g++ git binutils pkg-config libcli11-dev nlohmann-json3-dev
                  libspdlog-dev libfmt-dev libgtest-dev bubblewrap libtorch-dev
                  libopenblas0-pthread  # else Debian's libtorch runs on the reference BLAS (≈6× slower)
                  curl xz-utils  # `prepare corpus`: npm tarballs, export files
                  chromium libpng-dev fonts-dejavu-core  # `report` HTML test
                  slurm-wlm munge  # the Slurm backend's test starts a one-node Slurm
                  python3)  # independent safetensors reader (tests/lm/safetensors_check.py)

say() { printf '[rebench] %s\n' "$*" >&2; }

install_missing_packages() {
  [ "${REBENCH_NO_INSTALL:-0}" = 1 ] && return 0
  if ! command -v dpkg-query >/dev/null 2>&1; then
    say "this is not a Debian/Ubuntu system: install by hand the equivalents of:"
    say "  ${REBENCH_PACKAGES[*]}"
    return 0
  fi
  local missing=()
  for p in "${REBENCH_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      say "missing packages (${missing[*]}) and no root/sudo to install them; install them and retry"
      return 1
    fi
  fi
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2; then
    say "could not install ${missing[*]} (no package registry?); continuing: the configure step"
    say "will say what is really missing. Set REBENCH_DEPS_PREFIX to unpacked packages if you have them."
  fi
}

configure_and_build() {
  local prefix_args=()
  if [ -n "${REBENCH_DEPS_PREFIX:-}" ]; then
    prefix_args=(-DCMAKE_PREFIX_PATH="$REBENCH_DEPS_PREFIX")
  fi
  local generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    say "configuring in $BUILD_DIR"
    cmake -S "$REPO_ROOT" -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      "${prefix_args[@]}" >&2 || return 1
  fi
  cmake --build "$BUILD_DIR" --parallel "$(nproc)" >&2
}
