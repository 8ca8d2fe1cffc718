#!/usr/bin/env bash
# Installs what building and testing need on Debian, idempotently: only the
# packages that are missing, and only when something is missing.
#   cmake            libopus, built by the opus crate (audiopus_sys)
#   libasound2-dev   cpal's ALSA backend (with pkg-config)
#   espeak-ng, sox   speech for the end-to-end voice tests
#   alsa-utils, libasound2-plugins   ALSA userspace plugins (null/file devices) for cpal tests
#   openssl          s_client checks of the secure listeners
#   chromium         a real browser opening a WebSocket to the WSS listener (test)
set -euo pipefail
packages=(cmake pkg-config libasound2-dev espeak-ng sox alsa-utils libasound2-plugins openssl tmux python3 python3-pip chromium)
missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=()
    if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    echo "setup: system packages present"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo not found; install Rust with rustup (https://rustup.rs) and run this again" >&2
    exit 1
fi
