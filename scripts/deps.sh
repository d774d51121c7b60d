#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install the Debian packages juggle needs to build and test, if missing.
# Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail

pkgs=(gcc g++ make cmake pkg-config libc6-dev libcriterion-dev valgrind
      libxml2-utils liburing-dev python3)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "juggle: installing ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q >&2
    $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
