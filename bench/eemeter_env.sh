#!/usr/bin/env bash
# Builds the SEPARATE environment the eemeter comparison runs in (bench/analytics_eemeter.py).
# eemeter is never a runtime dependency of derlink: it lives only in .venv-bench.
# eemeter 4.1.1 installs broken on its own; it works with pandas<3, scikit-learn<1.6 and pytz
# (STYLE.md, "Measured facts about dependencies").
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${EEMETER_VENV:-$here/.venv-bench}"
python="${PYTHON:-python3.11}"
if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
# Keep the environment out of version control whatever the repository's .gitignore says.
printf '*\n' > "$venv/.gitignore"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "eemeter==4.1.1" "pandas<3" "scikit-learn<1.6" pytz pyarrow polars
"$venv/bin/python" -c "import eemeter; print('eemeter', eemeter.__version__, 'ready in', '$venv')"
