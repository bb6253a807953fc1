"""The symbolic layer never imports numba (STYLE: proofs/ imports sympy, never numba)."""

import subprocess
import sys


def test_proofs_and_catalogue_do_not_import_numba():
    code = ("import sys, attnsparse as asp; asp.claims(); "
            "[c.rhs for c in asp.claims()]; "
            "bad = sorted(m for m in sys.modules if m == 'numba' or m.startswith('numba.')); "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
