#!/usr/bin/env bash
# Installs the Debian packages authgate needs to build and test, idempotently.
# Run as root on Debian 12. Safe to run again: installs only what is missing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev valgrind
  libcjson-dev dpkg-dev emscripten
  chromium nodejs npm nginx
  python3-fastapi python3-uvicorn
  python3-flask python3-flask-cors python3-jwt
  python3-django python3-djangorestframework python3-djangorestframework-simplejwt
  python3-django-cors-headers
)

missing=()
for p in "${packages[@]}"; do
  # nodejs/npm may come from another source (nodesource); accept any install.
  case "$p" in
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Debian's cJSON source (with its security patches) is what the wasm build compiles.
src_list=/etc/apt/sources.list.d/debian-src.sources
need_update=0
if [ ! -f "$src_list" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
  sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > "$src_list"
  need_update=1
fi

if [ "${#missing[@]}" -gt 0 ] || [ "$need_update" = 1 ]; then
  apt-get update -qq
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
