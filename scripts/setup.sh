#!/usr/bin/env bash
# Installs the Debian packages l0repro needs (idempotent; as root or through sudo), then builds the
# tool in release mode. Usage: scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  libopenblas-dev zlib1g-dev pkg-config   # BLAS for the matrix products; gzip for the IDX files
  libcairo2-dev libpango1.0-dev fonts-dejavu-core   # figures and the PDF report
  libcmark-gfm-dev libcmark-gfm-extensions-dev      # markdown templates
  poppler-utils                                     # pdftotext / pdfinfo for the report tests
  python3                                           # the local HTTP server the download tests start
  chromium                                          # headless browser checks of the HTML (scripts/browser_check.py)
  dataset-fashion-mnist                             # the full dataset available offline
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: Debian packages already installed"
fi

command -v swift >/dev/null || { echo "setup: Swift 6 is not on PATH (install it from swift.org)" >&2; exit 1; }
if [ "${1:-}" != "--no-build" ]; then
  swift build -c release --product l0repro
  echo "setup: built .build/release/l0repro"
fi
